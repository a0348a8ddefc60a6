"""Two estates, one agent (issue 23): a night desk registered with a real PBX
(Kamailio) takes the calls to both estates' numbers (SIPp callers dialling each DID:
the To user), and greets each caller with the estate they called, by that estate's
hours: 和谐花园 is open round the clock, 绿园小区 is closed today (a holiday).

What is kept: each call's row names the estate of the number dialled; the agent's own
account of the call (its log) says which estate answered, open or after hours, and the
greeting the caller heard, with that estate's name and not the other's.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from recorder import db
from recorder.estates import Estate, load_estates, save_estates
from recorder.models import Call
from tests.sip.conftest import HERE, SHORT_GREETING, Site, sipp
from tests.sip.test_agent_calls import AgentFactory, _ended

HX, LY = "02088880001", "02088880002"
GREETING = "您好，{organization}，请讲。"


def _estates_file(tmp_path: Path) -> Path:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    closed = [str(today + timedelta(days=d)) for d in (-1, 0, 1)]  # whatever the hour
    path = tmp_path / "estates.toml"
    path.write_text(
        f'[[estate]]\ncode = "HX"\nname = "和谐花园"\nnumbers = ["{HX}"]\n'
        'opening_hours = "00:00-24:00"\n\n'
        f'[[estate]]\ncode = "LY"\nname = "绿园小区"\nnumbers = ["{LY}"]\n'
        f'opening_hours = "09:00-17:00"\nholidays = {closed!r}\n'.replace("'", '"'),
        encoding="utf-8",
    )
    return path


def _estates_and_script(tmp_path: Path, short_config: Path) -> Path:
    """The two estates in the agent's database; the short script with the estate's name
    in its greeting, as the shipped one has."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'var' / 'hotline.db'}")
    try:
        db.upgrade(engine)
        with db.session_factory(engine).begin() as s:
            save_estates(s, load_estates(_estates_file(tmp_path)))
    finally:
        engine.dispose()
    script = tmp_path / "estates-script.toml"
    script.write_text(
        (short_config / "scripts" / "zh-CN.toml")
        .read_text(encoding="utf-8")
        .replace(SHORT_GREETING, GREETING),
        encoding="utf-8",
    )
    return script


def _dial(kamailio: int, tmp_path: Path, numbers: tuple[str, ...]) -> None:
    """One SIPp caller per number, each dialling it (the To user) through the PBX."""
    for number in numbers:
        scenario = tmp_path / f"uac_did_{number}.xml"
        scenario.write_text(
            (HERE / "scenarios" / "uac_did.xml")
            .read_text()
            .replace("DID_NUMBER", number)
            .replace("PAUSE_MS", "1500")
        )
        out = sipp(f"127.0.0.1:{kamailio}", "-sf", str(scenario), "-s", "agent", cwd=tmp_path)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]


def _said(site: Site, calls: list[Call]) -> dict[str | None, str]:
    """called number -> the agent's line on which estate answered it, with what greeting."""
    log = site.log.read_text(errors="replace")
    said = {}
    for call in calls:
        (line,) = re.findall(rf"\[{re.escape(call.call_id)}\] called .*", log)
        said[call.called_number] = line
    return said


def test_each_estate_answers_its_own_number_with_its_own_greeting(
    agent: AgentFactory, kamailio: int, tmp_path: Path, short_config: Path
) -> None:
    script = _estates_and_script(tmp_path, short_config)
    with agent(
        "--registrar",
        f"127.0.0.1:{kamailio}",
        "--user",
        "agent",
        agent__mode='"flow"',
        content__script=f'"{script}"',
        sip__clerk_uri_template='"sip:{extension}@127.0.0.1:9"',
    ) as site:
        _dial(kamailio, tmp_path, (HX, LY))
        calls = _ended(site, 2)
        with site.sessions() as s:
            codes = {e.id: e.code for e in s.scalars(select(Estate))}
        by_number = {c.called_number: codes.get(c.estate_id or 0) for c in calls}
        assert by_number == {HX: "HX", LY: "LY"}
        ended_in = {c.called_number: c.ended_in for c in calls}
        assert ended_in[LY] == "after_hours" and ended_in[HX] != "after_hours"
        said = _said(site, calls)
        assert f"called {HX}: estate HX, open, greeting 您好，和谐花园" in said[HX]
        assert f"called {LY}: estate LY, after hours, greeting 您好，绿园小区" in said[LY]
        assert "绿园" not in said[HX] and "和谐" not in said[LY]


def test_message_mode_greets_each_caller_with_the_estate_they_called(
    agent: AgentFactory, kamailio: int, tmp_path: Path, short_config: Path
) -> None:
    """agent.mode = "message" (greeting, message, closing): the greeting names the estate
    dialled, though the PBX writes the DID with the country code (+86, 86)."""
    script = _estates_and_script(tmp_path, short_config)
    dialled = {"+86" + HX[1:]: "HX", "86" + LY[1:]: "LY"}
    with agent(
        "--registrar", f"127.0.0.1:{kamailio}", "--user", "agent", content__script=f'"{script}"'
    ) as site:
        _dial(kamailio, tmp_path, tuple(dialled))
        calls = _ended(site, 2)
        with site.sessions() as s:
            codes = {e.id: e.code for e in s.scalars(select(Estate))}
        by_number = {c.called_number: codes.get(c.estate_id or 0) for c in calls}
        assert by_number == dialled  # each call's row names its estate
        said = _said(site, calls)
    hx, ly = ("+86" + HX[1:]), ("86" + LY[1:])
    assert said[hx].endswith(f"called {hx}: estate HX, greeting 您好，和谐花园，请讲。"), said[hx]
    assert said[ly].endswith(f"called {ly}: estate LY, greeting 您好，绿园小区，请讲。"), said[ly]
