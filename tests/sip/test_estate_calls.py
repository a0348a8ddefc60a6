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
from tests.sip.conftest import HERE, SHORT_GREETING, sipp
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


def test_each_estate_answers_its_own_number_with_its_own_greeting(
    agent: AgentFactory, kamailio: int, tmp_path: Path, short_config: Path
) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'var' / 'hotline.db'}")
    try:
        db.upgrade(engine)
        with db.session_factory(engine).begin() as s:
            save_estates(s, load_estates(_estates_file(tmp_path)))
    finally:
        engine.dispose()
    # The short script's greeting with the estate's name in it, as the shipped one has.
    script = tmp_path / "estates-script.toml"
    script.write_text(
        (short_config / "scripts" / "zh-CN.toml")
        .read_text(encoding="utf-8")
        .replace(SHORT_GREETING, GREETING),
        encoding="utf-8",
    )
    with agent(
        "--registrar",
        f"127.0.0.1:{kamailio}",
        "--user",
        "agent",
        agent__mode='"flow"',
        content__script=f'"{script}"',
        sip__clerk_uri_template='"sip:{extension}@127.0.0.1:9"',
    ) as site:
        for number in (HX, LY):
            scenario = tmp_path / f"uac_did_{number}.xml"
            scenario.write_text(
                (HERE / "scenarios" / "uac_did.xml")
                .read_text()
                .replace("DID_NUMBER", number)
                .replace("PAUSE_MS", "1500")
            )
            out = sipp(f"127.0.0.1:{kamailio}", "-sf", str(scenario), "-s", "agent", cwd=tmp_path)
            assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        calls = _ended(site, 2)
        with site.sessions() as s:
            codes = {e.id: e.code for e in s.scalars(select(Estate))}
        by_number = {c.called_number: codes.get(c.estate_id or 0) for c in calls}
        assert by_number == {HX: "HX", LY: "LY"}
        ended_in = {c.called_number: c.ended_in for c in calls}
        assert ended_in[LY] == "after_hours" and ended_in[HX] != "after_hours"
        log = site.log.read_text(errors="replace")
        said = {}
        for call in calls:
            (line,) = re.findall(rf"\[{re.escape(call.call_id)}\] called .*", log)
            said[call.called_number] = line
        assert f"called {HX}: estate HX, open, greeting 您好，和谐花园" in said[HX]
        assert f"called {LY}: estate LY, after hours, greeting 您好，绿园小区" in said[LY]
        assert "绿园" not in said[HX] and "和谐" not in said[LY]
