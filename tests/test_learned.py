"""The learned category model: trained on folds against the rules, kept only when the rules with
it win, taken over the rules' answer where they found nothing or where it is sure; saved as
data (weights in JSON) and read back by plain Python. Unit tests with a tiny model trained
here, and the shipped model checked against the labelled files it was built from."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.commands.classify import training_lines
from hotline.content import CategoryRules, Content, load_content
from hotline.settings import CONFIG_DIR, Settings
from recorder.models import (
    Call,
    Direction,
    Disposition,
    FieldSource,
    LogEntry,
    Transcript,
    Urgency,
)
from recorder.reception_log import Actor, act_as, new_entry
from tests.support.cli import hotline_stdout
from transcripts import classify, text
from transcripts.fields import fill_entry
from transcripts.learned import (
    LEGACY_FILES,
    MIN_CONFIDENCE,
    MODEL_FILE,
    LearnedCategories,
)
from transcripts.ngram_model import ModelFileError, NgramModel
from transcripts.retraining import LAST_TRAINING, describe, retrain, shipped_files
from transcripts.training import TrainingError, _pipeline, answer, fit, train
from transcripts.training_data import corrected, corrections, fingerprint, read_labelled
from transcripts.urgency_thresholds import CEILING, FLOOR

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = CONFIG_DIR / Settings().content.category_model
SHIPPED_EN = CONFIG_DIR / Settings().content.category_model_en
#: Wordings no rule knows (checked below), each said several ways, and lines of `other`.
TINY = [
    *(
        (f"{who}把电梯擦得锃亮{end}", "praise")
        for who in ("保洁张姐", "李阿姨", "小王", "保洁")
        for end in ("", "天天如此", "我们都看见了")
    ),
    *(
        (f"{where}多摆几张长椅{end}", "suggestion")
        for where in ("花园", "广场", "河边", "门口")
        for end in ("", "老人能歇歇脚", "吧")
    ),
    *(
        (said, "other")
        for said in ("喂喂听得到吗", "喂喂喂", "喂喂没声音", "喂你好喂喂", "喂喂喂喂")
    ),
]
WHEN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
#: A praise line in new words: the rules find nothing in it.
UNSEEN_PRAISE = "六号楼的保洁把电梯擦得锃亮"


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(Settings())


def _without_keywords(rules: CategoryRules) -> CategoryRules:
    """Rules that find nothing: every line is `other` for lack of evidence."""
    data = rules.model_dump()
    for category in data["category"]:
        category.update(keywords=[], things=[], faults=[], strong_keywords=[])
    return CategoryRules.model_validate(data)


@pytest.fixture(scope="module")
def tiny_pipeline() -> object:
    return _pipeline(len(TINY)).fit([t for t, _ in TINY], [c for _, c in TINY])


@pytest.fixture(scope="module")
def tiny_model(tiny_pipeline: object) -> LearnedCategories:
    return LearnedCategories.fitted(tiny_pipeline)


def _settings(data_dir: Path, category_model: str = "rules/category_model.json") -> Settings:
    return Settings.model_validate(
        {"paths": {"data_dir": data_dir}, "content": {"category_model": category_model}}
    )


def test_the_tiny_set_is_new_to_the_rules(content: Content) -> None:
    for said in [UNSEEN_PRAISE, *(t for t, c in TINY if c != "other")]:
        assert classify.classify(said, content.categories).no_evidence, said


def test_the_data_model_answers_as_the_fitted_one(tiny_pipeline: object, tmp_path: Path) -> None:
    """Weights as JSON, applied by plain Python: the probabilities scikit-learn gives (to the
    six decimals kept), before and after a round trip through the file."""
    model = NgramModel.from_pipeline(tiny_pipeline)
    model.save(tmp_path / MODEL_FILE)
    again = NgramModel.load(tmp_path / MODEL_FILE)
    said = [UNSEEN_PRAISE, "广场多摆长椅", "喂", "", "  两个  空格 ", "ABC 大写"]
    expected = tiny_pipeline.predict_proba(said)  # type: ignore[attr-defined]
    for line, row in zip(said, expected, strict=True):
        for got in (model.probabilities(line), again.probabilities(line)):
            assert got == pytest.approx(list(row), abs=1e-5), line
    assert not list(tmp_path.glob("*.partial"))


def test_two_categories_are_kept_as_two_rows(tmp_path: Path) -> None:
    """A binary regression has one weight row; the file always holds one per category."""
    two = [(t, c) for t, c in TINY if c != "suggestion"]
    fitted = _pipeline(len(two)).fit([t for t, _ in two], [c for _, c in two])
    model = NgramModel.from_pipeline(fitted)
    assert model.classes == ("other", "praise") and len(model.intercepts) == 2
    assert model.probabilities(UNSEEN_PRAISE) == pytest.approx(
        list(fitted.predict_proba([UNSEEN_PRAISE])[0]), abs=1e-5
    )


def test_an_unsure_model_still_answers_and_asks_a_clerk(tiny_model: LearnedCategories) -> None:
    """The model answers every line with a request in it; below min_confidence the entry is
    flagged for a clerk (the category stays the model's best guess)."""
    guess = tiny_model.guess(UNSEEN_PRAISE)
    assert guess is not None and guess[0] == "praise" and guess[1] >= MIN_CONFIDENCE
    sure = tiny_model.judge(UNSEEN_PRAISE)
    assert sure is not None and (sure.category, sure.review) == ("praise", False)
    unsure = LearnedCategories(tiny_model.model, min_confidence=guess[1] + 0.01)
    said = unsure.judge(UNSEEN_PRAISE)
    assert said is not None and (said.category, said.review) == ("praise", True)
    assert tiny_model.judge("") is None  # nothing to read: the rules' `other`, for a clerk


@pytest.mark.parametrize(
    ("rules_say", "no_evidence", "guess", "expected"),
    [
        ("complaint", False, "praise", "complaint"),  # an override keyword said: it decides
        ("other", False, "praise", "other"),  # 打错了 said: an override for `other`
        ("other", True, "praise", "praise"),  # no override: the model answers
        ("other", True, None, "other"),  # nothing for the model to read
    ],
)
def test_the_combination(
    rules_say: str, no_evidence: bool, guess: str | None, expected: str
) -> None:
    assert answer(rules_say, no_evidence, guess) == expected


def test_kept_when_the_model_wins_on_folds(content: Content, tmp_path: Path) -> None:
    blind = _without_keywords(content.categories)
    models = tmp_path / "models"
    models.mkdir()
    for legacy in LEGACY_FILES:
        (models / legacy).write_bytes(b"an older pickle")
    report = train(TINY, blind, models, corrections_count=len(TINY) - 5)
    assert report.rules_accuracy == pytest.approx(5 / len(TINY))  # only the `other` lines
    assert report.combined_accuracy > report.rules_accuracy and report.saved is not None
    assert report.no_evidence == len(TINY) and report.changed_right > 0
    assert [s.name for s in report.sources] == ["clerks' corrections", "labelled files"]
    saved = NgramModel.load(models / MODEL_FILE)
    assert saved.about["min_confidence"] == MIN_CONFIDENCE
    assert saved.about["combined_accuracy"] == round(report.combined_accuracy, 4)
    assert not any((models / legacy).exists() for legacy in LEGACY_FILES)  # replaced
    loaded = LearnedCategories.load(_settings(tmp_path))  # over the shipped one
    assert loaded.source.startswith("trained here")
    assert fill_entry(UNSEEN_PRAISE, content, WHEN, learned=loaded).category == "praise"
    printed = "\n".join(training_lines(report))
    assert "rules alone" in printed and "cross-validated" in printed
    assert "optimistic" in printed and "used from now on" in printed


def test_dropped_when_the_rules_already_know_the_lines(content: Content, tmp_path: Path) -> None:
    """Lines the rules classify (here: with a keyword each) leave the model nothing to win;
    an older saved model is removed (the shipped one then answers again)."""
    (tmp_path / MODEL_FILE).write_text("{}")
    known = [(f"{said}我要投诉", "complaint") for said, _ in TINY]
    report = train(known, content.categories, tmp_path, corrections_count=0)
    assert report.rules_accuracy == 1.0 and report.combined_accuracy == 1.0
    assert report.no_evidence == 0 and report.saved is None
    assert not (tmp_path / MODEL_FILE).exists()
    assert "nothing trained here is kept" in "\n".join(training_lines(report))


def test_held_out_lines_decide_when_given(content: Content, tmp_path: Path) -> None:
    """Folds of lines the rules were written on favour the rules (here: every example has a
    keyword); lines nobody tuned the rules on, where the rules find nothing, decide instead."""
    known = [(f"{said}我要投诉", "complaint") for said, _ in TINY] + TINY
    unseen = [(UNSEEN_PRAISE, "praise"), ("菜市场门口多摆几张长椅", "suggestion")]
    report = train(known, content.categories, tmp_path, corrections_count=0, holdout=unseen)
    assert report.holdout is not None and report.holdout.examples == 2
    assert report.holdout.rules_accuracy == 0.0  # the rules find nothing in either line
    assert report.holdout.combined_accuracy == 1.0 and report.saved is not None
    assert NgramModel.load(tmp_path / MODEL_FILE).about["holdout"]["combined_accuracy"] == 1.0
    assert "(this decides)" in "\n".join(training_lines(report))


@pytest.mark.parametrize(
    ("written", "says"),
    [
        (b"", "cannot be read"),
        (b'{"format": "hotline-category-model/1", "classes": ["a", "b"], "weigh', "cannot be"),
        (
            b'{"format": "sklearn-pickle"}',
            "expected one of hotline-category-model/1, hotline-category-model/2",
        ),
        (
            b'{"format": "hotline-category-model/1", "classes": ["a", "b"], "intercepts": [0, 0],'
            b' "ngram_range": [1, 3], "weights": {"x": [1.0, 2.0]}}',
            "has 2 numbers, not 3",
        ),
        (b"\xff\xfe not text", "cannot be read"),
    ],
)
def test_a_broken_file_is_passed_over_with_a_clear_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, written: bytes, says: str
) -> None:
    """A truncated or foreign file in data_dir/models: the error names the file and what is
    wrong; the shipped model answers instead (kept: every call is still classified)."""
    models = tmp_path / "models"
    models.mkdir()
    (models / MODEL_FILE).write_bytes(written)
    with pytest.raises(ModelFileError, match=says):
        NgramModel.load(models / MODEL_FILE)
    with caplog.at_level(logging.ERROR, logger="transcripts.learned"):
        model = LearnedCategories.load(_settings(tmp_path))
    assert model.source.startswith("shipped") and model.model is not None
    assert str(models / MODEL_FILE) in caplog.text and "passed over" in caplog.text


def test_an_older_pickle_is_not_read_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "classifier.joblib").write_bytes(b"\x80\x04 pickle")
    with caplog.at_level(logging.WARNING, logger="transcripts.learned"):
        model = LearnedCategories.load(_settings(tmp_path, ""))
    assert model.model is None and "hotline classify train" in caplog.text


@pytest.mark.parametrize(("shipped_file", "lang"), [(SHIPPED, "zh"), (SHIPPED_EN, "en")])
def test_the_shipped_model_is_built_from_the_labelled_files_as_they_are_now(
    shipped_file: Path, lang: str
) -> None:
    """The shipped file records the sha256 of the lines and labels of every file it was trained
    on; a relabelled or added line must be followed by a rebuild (the command is below)."""
    shipped = NgramModel.load(shipped_file)
    files = shipped.about["trained_on"]
    assert shipped.about.get("language", "zh") == lang
    assert len(files) >= 9 and sum(f["lines"] for f in files) >= (1000 if lang == "zh" else 150)
    stale = [f["file"] for f in files if fingerprint(ROOT / f["file"], lang) != f["sha256"]]
    rebuild = shipped.about["built_by"] + "".join(f" --labelled {f['file']}" for f in files)
    assert not stale, (
        f"labelled files changed since the shipped model was built: {stale}; "
        f"rebuild with: .venv/bin/python -m {rebuild}"
    )
    assert set(shipped.classes) == {c.key for c in load_content(Settings()).categories.category}
    assert shipped.about["min_confidence"] == MIN_CONFIDENCE
    assert shipped.urgency_classes == ("leak", "normal", "safety")


@pytest.mark.parametrize(("shipped_file", "lang"), [(SHIPPED, "zh"), (SHIPPED_EN, "en")])
def test_the_shipped_model_is_what_training_on_its_files_gives(
    shipped_file: Path, lang: str
) -> None:
    """Retrained here from the files it names (any scikit-learn version), the answers agree:
    the file is the command's output, not something edited by hand."""
    shipped = NgramModel.load(shipped_file)
    examples = [
        e for f in shipped.about["trained_on"] for e in read_labelled(ROOT / f["file"], lang)
    ]
    again = fit(examples)
    sample = [t for t, _ in examples[::7]]
    agree = sum(shipped.guess(t)[0] == again.guess(t)[0] for t in sample) / len(sample)
    assert agree >= 0.99
    assert len(shipped.weights) == pytest.approx(len(again.weights), rel=0.01)


def test_english_lines_get_the_english_model(content: Content) -> None:
    """Its own model (the corpus's English lines): it answers where no English override is
    said; the English overrides (complain, wrong number) decide over it."""
    english = LearnedCategories.load(Settings(), lang="en")
    rules_alone = LearnedCategories(None)
    assert english.source.startswith("shipped") and english.model is not None
    assert english.model.about["language"] == "en"
    made_up = [
        "my neighbours dog barks all night and nobody does anything",
        "the hallway bulb has gone dark again",
        "the guy who mowed the grass did a lovely job",
        "could you hold a key for my cleaner tomorrow",
    ]
    for said in made_up:
        assert fill_entry(said, content, WHEN, "en", learned=rules_alone).category == "other"
        guess = english.guess(said)
        assert guess is not None
        assert fill_entry(said, content, WHEN, "en", learned=english).category == guess[0]
    assert fill_entry("sorry wrong number", content, WHEN, "en", learned=english).category == (
        "other"
    )
    assert english.guess("hello thank you bye") is None  # no request in it


def test_entries_use_the_shipped_model(content: Content, tmp_path: Path) -> None:
    """With no model trained here, the shipped one answers every line without an override
    keyword; with `category_model = ""` the rules decide alone (their `other`, for a clerk)."""
    shipped = LearnedCategories.load(_settings(tmp_path))
    none = LearnedCategories.load(_settings(tmp_path, ""))
    assert shipped.source.startswith("shipped") and none.model is None
    lines = [  # made up here, in no corpus file
        ("能不能在门口装个充电桩", "suggestion"),
        ("你们物业的电梯又停了我要找你们经理", "complaint"),
        ("楼上天天半夜跺脚", "complaint"),
    ]
    assert shipped.model is not None
    for said, _ in lines:
        assert classify.classify(said, content.categories).no_evidence, said
        assert (
            fill_entry(said, content, WHEN, learned=shipped).category
            == (shipped.model.guess(said)[0])
        )
        alone = fill_entry(said, content, WHEN, learned=none)
        assert (alone.category, alone.needs_review) == ("other", True)
    right = sum(fill_entry(t, content, WHEN, learned=shipped).category == c for t, c in lines)
    assert right >= 2


def test_cli_ship_writes_the_model_and_says_what_it_rests_on(tmp_path: Path) -> None:
    labelled = tmp_path / "lines.tsv"
    labelled.write_text("".join(f"{t}\t{c}\n" for t, c in TINY * 2), encoding="utf-8")
    out = hotline_stdout(
        tmp_path, "classify", "train", "--ship", "m.json", "--labelled", str(labelled)
    )
    assert "rules alone:" in out and "cross-validated" in out  # the folds, for information
    assert (
        f"shipped model (zh) written to m.json: {len(NgramModel.load(tmp_path / 'm.json').weights)}"
        f" n-grams, 3 categories, trained on {len(TINY) * 2} lines of 1 files, without (one "
        "urgency level in the files) an urgency head" in out
    )
    assert "bench/category_model.py" in out
    assert "nothing trained here is kept" not in out  # the verdict is not this command's
    shipped = NgramModel.load(tmp_path / "m.json")
    assert shipped.about["trained_on"][0]["lines"] == len(TINY) * 2
    assert shipped.about["built_by"] == f"hotline classify train --ship {tmp_path / 'm.json'}"
    assert shipped.guess(UNSEEN_PRAISE)[0] == "praise"
    assert not (tmp_path / "var").exists()  # no database opened, no corrections read
    assert json.loads((tmp_path / "m.json").read_text())["format"] == "hotline-category-model/2"
    # with the urgency column, the file has the urgency head: it answers urgency
    urgent = tmp_path / "urgent.tsv"
    urgent.write_text(
        "".join(f"{t}\t{c}\t{'safety' if c == 'praise' else 'normal'}\n" for t, c in TINY * 2),
        encoding="utf-8",
    )
    out = hotline_stdout(
        tmp_path, "classify", "train", "--ship", "u.json", "--labelled", str(urgent)
    )
    assert "with an urgency head" in out
    heads = NgramModel.load(tmp_path / "u.json")
    assert heads.urgency_classes == ("normal", "safety")
    assert max(heads.urgency_probabilities(UNSEEN_PRAISE).items(), key=lambda kv: kv[1])[0] == (
        "safety"
    )


def _corrected_calls(
    sessions: sessionmaker[Session],
    calls: Sequence[tuple[str | dict[str, str], str]],
    urgencies: Sequence[Urgency] = (),
) -> None:
    """Calls whose entry the rules filed as `other` and a clerk corrected, as in the admin: each
    is (what the caller said, or what each channel said; the clerk's category); with
    `urgencies`, the clerk set each entry's urgency too."""
    with sessions.begin() as session:
        for n, (said, _) in enumerate(calls):
            call = Call(
                call_id=f"c{n}",
                direction=Direction.INBOUND,
                invite_at=WHEN,
                disposition=Disposition.ANSWERED,
            )
            session.add(call)
            session.flush()
            channels = {"caller": said} if isinstance(said, str) else said
            for channel, words in channels.items():
                session.add(
                    Transcript(
                        call_pk=call.id,
                        engine="vosk",
                        model="m",
                        language="zh",
                        channel=channel,
                        text=text.clean(words),
                        raw_text=words,
                    )
                )
            new_entry(
                session,
                {"call_pk": call.id, "received_at": WHEN, "category": "other"},
                FieldSource.AUTO,
            )
    with sessions.begin() as session:
        act_as(session, Actor(user_id=None, source=FieldSource.PERSON))
        entries = session.scalars(select(LogEntry).order_by(LogEntry.id)).all()
        for n, (entry, (_, category)) in enumerate(zip(entries, calls, strict=True)):
            entry.category = category
            if urgencies and urgencies[n] != entry.urgency:
                entry.urgency = urgencies[n]


def test_corrections_pair_the_callers_words_with_the_clerks_category(
    sqlite_sessions: sessionmaker[Session],
) -> None:
    """Only the caller's channels, as the pipeline classifies them: the staff channel would
    teach the model the clerk's words."""
    said = {"caller": "我 想 表扬 师傅", "staff": "您好 请问 您 贵姓"}
    _corrected_calls(sqlite_sessions, [(said, "praise")])
    with sqlite_sessions() as session:
        assert corrections(session) == [("我想表扬师傅", "praise")]


def test_nightly_training_learns_from_the_clerks_corrections(
    content: Content, sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """What the worker runs each night (transcription.retrain_at): the clerks' corrections
    train a model, kept because the rules with it beat the rules alone on them; a process
    already serving picks it up; the same corrections are not trained on twice."""
    settings = _settings(tmp_path, "")  # no shipped model: the corrections alone
    serving = LearnedCategories.load(settings)
    assert serving.model is None
    _corrected_calls(sqlite_sessions, TINY[:-5])  # the praise and suggestion lines
    with pytest.raises(TrainingError):  # too few: nothing trained, said so
        train(TINY[:5], content.categories, tmp_path / "models", 5)
    report = retrain(sqlite_sessions, settings, content.categories)
    assert report is not None and report.corrections == len(TINY) - 5
    assert report.saved == tmp_path / "models" / MODEL_FILE
    assert report.combined_accuracy > report.rules_accuracy
    last = json.loads((tmp_path / "models" / LAST_TRAINING).read_text())
    assert last["kept"] is True and last["corrections"] == len(TINY) - 5
    assert serving.refresh(force=True) and serving.source.startswith("trained here")
    judged = serving.judge(UNSEEN_PRAISE)
    assert judged is not None and judged.category == "praise"
    assert retrain(sqlite_sessions, settings, content.categories) is None  # nothing new


def test_nightly_training_learns_urgency_from_the_clerks_corrections(
    content: Content, sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """Clerks who mark entries safety (a door that no longer locks, said in words no trigger
    knows) teach the nightly model: the kept model answers safety for such a call."""
    doors = [
        (f"{where}的大门{how}", "repair")
        for where in ("七栋", "南门", "地库", "东区")
        for how in ("一直敞着没人管", "整夜敞着", "敞着好几天了")
    ]
    benches = [(t, c) for t, c in TINY if c == "suggestion"]
    calls = [*doors, *benches]
    urgencies = [Urgency.SAFETY] * len(doors) + [Urgency.NORMAL] * len(benches)
    _corrected_calls(sqlite_sessions, calls, urgencies)
    with sqlite_sessions() as session:
        rows = corrected(session)
    assert ("七栋的大门一直敞着没人管", "repair", "safety") in rows and len(rows) == len(calls)
    settings = _settings(tmp_path, "")
    report = retrain(sqlite_sessions, settings, content.categories)
    assert report is not None and report.saved is not None
    trained = LearnedCategories.load(settings)
    assert trained.model is not None and "safety" in trained.model.urgency_classes
    # Trained with its lines' sources (each corrected call one caller's), as the shipped model:
    # its safety threshold is chosen for recall on its own lines' folds, not the fixed one.
    about = trained.model.about
    assert about["thresholds_chosen_on"] == "the training lines' folds by source"
    assert FLOOR["safety"] <= about["safety_review"] <= CEILING["safety"]
    fields = fill_entry("北门的大门一直敞着", content, WHEN, learned=trained)
    assert (fields.category, fields.urgency) == ("repair", "safety")
    bench = fill_entry("操场多摆几张长椅", content, WHEN, learned=trained)
    assert (bench.category, bench.urgency) == ("suggestion", "normal")


def test_nightly_training_keeps_what_the_shipped_model_knew(tmp_path: Path) -> None:
    """The labelled files the shipped model names go into the nightly training too."""
    files = shipped_files(_settings(tmp_path))
    assert {f.parent for f in files} == {ROOT / "corpus" / "lines"}
    assert "resident-web.tsv" in [f.name for f in files]
    assert len(files) == len(NgramModel.load(SHIPPED).about["trained_on"])
    assert shipped_files(_settings(tmp_path, "")) == []


def test_the_worker_trains_at_the_desks_night_hour(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """03:15 in Shanghai is 19:15 UTC (huey keeps UTC); the task goes through the pipeline."""
    from huey import MemoryHuey

    from recorder.queue import CallQueue, _utc_clock
    from transcripts.pipeline import Pipeline

    settings = _settings(tmp_path, "")
    assert _utc_clock("03:15", settings) == ("19", "15")
    content = load_content(settings)
    pipeline = Pipeline(
        sqlite_sessions, content, settings, learned=LearnedCategories.load(settings)
    )
    queue = CallQueue(MemoryHuey("t", immediate=True, results=False), settings, lambda: pipeline)
    names = {task.__name__ for task in queue.huey._registry._periodic_tasks}
    assert {"sweep", "retrain_categories"} <= names
    _corrected_calls(sqlite_sessions, TINY[:-5])
    queue.retrain_categories()
    assert (tmp_path / "models" / MODEL_FILE).exists()
    assert pipeline._learned is not None
    judged = pipeline._learned.judge(UNSEEN_PRAISE)  # loaded at once
    assert judged is not None and judged.category == "praise"
    never = Settings.model_validate({"transcription": {"retrain_at": ""}})
    quiet = CallQueue(MemoryHuey("u", immediate=True, results=False), never, lambda: pipeline)
    assert "retrain_categories" not in {t.__name__ for t in quiet.huey._registry._periodic_tasks}


@pytest.mark.parametrize(
    "said", ["嗯", "呃 呃 呃", "啊 那个 就是 嗯", "那个 那个", "好 的 谢谢 再见", "喂 你好 喂", ""]
)
def test_a_line_with_no_request_stays_other_for_a_clerk(content: Content, said: str) -> None:
    """Hesitations, hellos and thanks carry no request: the model (which always has a guess,
    its commonest category) is not asked, and the entry stays `other`, flagged for review."""
    shipped = LearnedCategories.load(Settings())
    assert shipped.model is not None and shipped.guess(said.replace(" ", "")) is None
    fields = fill_entry(said, content, WHEN, learned=shipped)
    assert (fields.category, fields.needs_review) == ("other", True)


def test_a_short_request_is_still_read() -> None:
    shipped = LearnedCategories.load(Settings())
    assert shipped.guess("漏水") is not None and shipped.guess("谢谢你们修好了电梯") is not None


def test_a_line_the_model_knows_nothing_of_gets_no_answer(content: Content) -> None:
    """A Korean transcript (the test model's language) or Latin letters: no n-gram the
    model knows, so its answer would be its prior: not asked, the rules' `other` stays."""
    shipped = LearnedCategories.load(Settings())
    for said in ("안녕하세요 엘리베이터가 고장났어요", "xyzzy plugh"):
        assert shipped.guess(said) is None, said
        assert fill_entry(said, content, WHEN, learned=shipped).category == "other"


def test_models_list_says_which_category_model_answers(
    content: Content, sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    said = "\n".join(describe(settings))
    assert "category model: shipped" in said and "labelled lines of" in said
    assert "none yet" in said
    _corrected_calls(sqlite_sessions, TINY[:-5])
    retrain(sqlite_sessions, _settings(tmp_path, ""), content.categories)
    said = "\n".join(describe(settings))
    assert "category model: trained here" in said and "clerks' corrections" in said
    assert f"{len(TINY) - 5} corrections" in said and ": kept" in said
