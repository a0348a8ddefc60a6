"""Greeting compliance on labelled staff-side transcripts, timing, rings, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hotline.content import ComplianceRules, load_content
from hotline.settings import RingingSettings, Settings
from transcripts.compliance import (
    CHECKS,
    REQUIRED,
    answered_within_rings,
    check_agent_call,
    check_transcript,
    distinctive,
    rings_before_answer,
)

DATA = Path(__file__).parent / "data" / "staff_transcripts.tsv"
#: Written and labelled before the checker was run on them; never used for tuning.
HELD_OUT = Path(__file__).parent / "data" / "staff_transcripts_heldout.tsv"
#: Written after the fixes HELD_OUT revealed, before the checker was run on them.
HELD_OUT_2 = Path(__file__).parent / "data" / "staff_transcripts_heldout2.tsv"
ORG = "幸福家园物业服务中心"
Labelled = list[tuple[str, dict[str, bool], set[str]]]


@pytest.fixture(scope="module")
def rules() -> ComplianceRules:
    return load_content(Settings()).compliance


def labelled(path: Path = DATA) -> Labelled:
    """(transcript, expected checks, forbidden phrases) per row of a labelled TSV."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        said, *labels = line.split("\t")
        checks = {name: value == "1" for name, value in zip(CHECKS, labels[:6], strict=True)}
        rows.append((said, checks, set() if labels[6] == "-" else set(labels[6].split(","))))
    return rows


def test_precision_and_recall_per_check(rules: ComplianceRules) -> None:
    rows = labelled()
    assert len(rows) >= 60
    scores = {}
    for check in (*CHECKS, "forbidden"):
        tp = fp = fn = 0
        for said, expected, forbidden in rows:
            report = check_transcript(said, ORG, rules)
            if check == "forbidden":
                got = set(report.forbidden)
                tp, fp, fn = (
                    tp + len(got & forbidden),
                    fp + len(got - forbidden),
                    fn + len(forbidden - got),
                )
            else:
                tp += report.checks[check] and expected[check]
                fp += report.checks[check] and not expected[check]
                fn += not report.checks[check] and expected[check]
        scores[check] = (tp / max(1, tp + fp), tp / max(1, tp + fn))
    assert all(p >= 0.95 and r >= 0.95 for p, r in scores.values()), scores


#: Held-out `passed` accuracy (bench/compliance_accuracy.py): 40/54 = 0.741 when first run,
#: 53/54 = 0.981 after the general fixes it revealed (forbidden phrases by sense, role before
#: the job number, 祝您生活愉快, 您的姓). A floor against regressions, not a target to tune to.
HELD_OUT_PASSED_FLOOR = 0.98
#: The second held-out set, never tuned on: 28/33 = 0.848 when first run.
HELD_OUT_2_PASSED_FLOOR = 0.84


@pytest.mark.parametrize(
    ("path", "floor"), [(HELD_OUT, HELD_OUT_PASSED_FLOOR), (HELD_OUT_2, HELD_OUT_2_PASSED_FLOOR)]
)
def test_held_out_passed_accuracy_stays_at_its_measured_floor(
    rules: ComplianceRules, path: Path, floor: float
) -> None:
    """Kept when it fails: which held-out transcripts got the wrong verdict."""
    rows = labelled(path)
    assert len(rows) >= 30
    wrong = [
        said
        for said, expected, forbidden in rows
        if check_transcript(said, ORG, rules).passed
        != (all(expected[name] for name in REQUIRED) and not forbidden)
    ]
    assert 1 - len(wrong) / len(rows) >= floor, wrong


@pytest.mark.parametrize(
    ("said", "forbidden"),
    [
        ("喂 老 陈 你 帮 我 看 一下 监控", []),  # to a colleague
        ("喂 喂 王 先生 您 能 听到 吗", ["喂"]),  # hailing the caller
        ("楼道 里 不要 喂 猫", []),  # 喂 = feed
        ("不 知道 您 明天 上午 在 家 吗", []),  # polite inquiry
        ("这个 我 也 不 知道", ["不知道"]),
        ("我 不 知道 您 要 找 谁", ["不知道"]),
        ("这个 我们 真 没 有 办法", ["没办法"]),
        ("具体 时间 我 不 大 清楚", ["不清楚"]),
        ("您 有 不 清楚 的 可以 再 问 我", []),
        ("我 不管 什么 时候 都 帮 您 跟进", []),
        ("你 找 别人 去 吧", ["找别人"]),
    ],
)
def test_forbidden_phrases_count_in_their_brushing_off_sense(
    rules: ComplianceRules, said: str, forbidden: list[str]
) -> None:
    assert check_transcript(said, ORG, rules).forbidden == forbidden


def test_a_forbidden_phrase_after_an_allowed_one_gets_its_own_second(
    rules: ComplianceRules,
) -> None:
    """喂养 at 1 s is allowed; the 喂 that hails the caller at 3.2 s is the finding."""
    timed = [("宠物", 0.2), ("喂养", 1.0), ("的", 1.6), ("事", 1.8), ("喂", 3.2), ("您", 3.5)]
    words = [{"word": w, "start": t, "end": t + 0.3, "conf": 0.9} for w, t in timed]
    report = check_transcript(" ".join(w for w, _ in timed), ORG, rules, words)
    assert [(f.phrase, f.at_s) for f in report.findings if f.check == "forbidden"] == [("喂", 3.2)]


def test_passed_needs_every_required_check_and_nothing_forbidden(rules: ComplianceRules) -> None:
    good = check_transcript(
        "您好 幸福家园 物业 工号 一 零 二 三 请问 有 什么 可以 帮 您 好的 再见", ORG, rules
    )
    assert (
        good.passed and not good.checks["surname_asked"]
    )  # asking the surname is checked, not required
    rude = check_transcript(
        "您好 幸福家园 物业 工号 一 零 二 三 请问 有 什么 可以 帮 您 不 知道 再见", ORG, rules
    )
    assert not rude.passed and rude.forbidden == ["不知道"]


def test_findings_carry_the_second_they_were_said(rules: ComplianceRules) -> None:
    words = [
        {"word": w, "start": i * 0.5, "end": i * 0.5 + 0.4, "conf": 0.9}
        for i, w in enumerate(
            [
                "您好",
                "幸福家园",
                "物业",
                "工号",
                "一",
                "零",
                "二",
                "三",
                "请问",
                "有",
                "什么",
                "可以",
                "帮",
                "您",
                "我",
                "不",
                "知道",
                "再见",
            ]
        )
    ]
    report = check_transcript(" ".join(w["word"] for w in words), ORG, rules, words)
    at = {f.check: f.at_s for f in report.findings}
    assert at["greeting"] == 0.0 and at["organization"] == 0.5
    # the family 我不知道 starts at 我 (7.0 s), the pronoun being part of what was said
    assert at["forbidden"] == 7.0 and at["closing"] == 8.5


def test_the_distinctive_part_of_the_name_counts() -> None:
    assert distinctive("幸福家园物业服务中心") == "幸福家园"
    assert distinctive("绿城 物业管理有限公司") == "绿城"


def test_agent_calls_are_judged_by_what_the_caller_heard(rules: ComplianceRules) -> None:
    content = load_content(Settings())
    played = [content.prompt("greeting"), content.closing("default")]
    assert check_agent_call(played, True, ORG, rules).passed
    assert not check_agent_call(played, False, ORG, rules).passed  # hung up before the end


@pytest.mark.parametrize(
    ("seconds", "rings"), [(0.5, 1), (6.0, 2), (11.0, 3), (11.9, 3), (15.2, 4)]
)
def test_rings_from_the_chinese_cadence(seconds: float, rings: int) -> None:
    start = datetime(2026, 11, 23, tzinfo=UTC)
    assert (
        rings_before_answer(start, start + timedelta(seconds=seconds), RingingSettings()) == rings
    )


def test_answered_within_three_rings(rules: ComplianceRules) -> None:
    start = datetime(2026, 11, 23, tzinfo=UTC)
    cadence = RingingSettings()
    assert answered_within_rings(None, start, start + timedelta(seconds=11), cadence, rules) is True
    assert (
        answered_within_rings(None, start, start + timedelta(seconds=16), cadence, rules) is False
    )
    assert answered_within_rings(2, None, start, cadence, rules) is True
    assert answered_within_rings(None, start, None, cadence, rules) is None


def _check(*args: str, stdin: str | None = None) -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "hotline", "check-greeting", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_cli_contract() -> None:
    (one,) = _check(
        "--json",
        "您好 幸福家园 物业 工号 一 零 二 三 请问 有 什么 可以 帮 您 请问 您 贵姓 好的 再见",
    )
    assert one == {
        "passed": True,
        "checks": {
            "greeting": True,
            "organization": True,
            "staff_id": True,
            "offer_help": True,
            "surname_asked": True,
            "closing": True,
        },
        "forbidden": [],
    }
    (other,) = _check(
        "--organization",
        "绿城物业",
        "--json",
        "您好 绿城 物业 工号 一 零 二 三 请问 有 什么 可以 帮 您 再见",
    )
    assert other["passed"] is True
    batch = _check("--json", stdin="\n".join(row[0] for row in labelled()) + "\n")
    assert len(batch) == len(labelled()) and any(not r["passed"] for r in batch)
