"""PostgreSQL restarted while a real caller is talking to the agent.

The agent writes every call event to its journal first (recorder/journal.py)
and applies it to the database when the database is there. What is kept when
PostgreSQL goes away in the middle of a SIPp call, and a second caller rings
while it is still away: both calls are answered within the configured rings,
both recordings are complete on disk, and once PostgreSQL is back both call
records arrive with their disposition, ring count, recording (state, SHA-256)
and end, exactly once. The audio recorded during the outage is the caller's,
sample for sample (cross-correlation ≥ 0.99).
"""

from __future__ import annotations

import threading
import wave
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recorder import db
from recorder.models import Call, Disposition, Recording, RecordingState
from tests.conftest import new_pg_database
from tests.sip.conftest import Site, sipp
from tests.sip.test_agent_calls import best_correlation, caller_audio, scenario
from tests.support.postgres import PostgresCluster
from tests.support.processes import wait_until

AgentFactory = Callable[..., AbstractContextManager[Site]]


def _rows(sessions: sessionmaker[Session]) -> tuple[list[Call], list[Recording]]:
    with sessions() as s:
        return list(s.scalars(select(Call).order_by(Call.id))), list(s.scalars(select(Recording)))


def test_postgresql_restarted_during_a_live_call_loses_nothing(
    agent: AgentFactory, stoppable_pg: PostgresCluster, tmp_path: Path
) -> None:
    url = new_pg_database((stoppable_pg.host, stoppable_pg.port))
    audio, sent = caller_audio(tmp_path, "PCMU")
    with agent(database__url=f'"{url}"', agent__record_seconds="20.0") as site:
        engine = db.make_engine(url)
        sessions = db.session_factory(engine)
        try:
            result: dict[str, object] = {}
            # The caller talks for 15 s (BYE after that); the database goes away mid-call.
            talking = threading.Thread(
                target=lambda: result.update(
                    first=sipp(
                        site.address,
                        "-sf",
                        str(scenario(tmp_path, audio, "PCMU", 15000)),
                        "-s",
                        "agent",
                        cwd=tmp_path,
                    )
                )
            )
            talking.start()
            wait_until(
                lambda: "answered after 1 rings" in site.log.read_text(errors="replace"),
                30,
                "the agent to answer the first caller",
            )
            stoppable_pg.stop()
            talking.join(timeout=60)
            first = result["first"]
            assert getattr(first, "returncode", None) == 0, getattr(first, "stdout", "")[-2000:]

            # Still away: a second caller is answered all the same (hangs up after 1.5 s).
            second = sipp(site.address, "-sn", "uac", "-s", "agent", "-d", "1500", cwd=tmp_path)
            assert second.returncode == 0, second.stdout[-2000:]
            log = site.log.read_text(errors="replace")
            assert log.count("answered after 1 rings") == 2, log[-3000:]

            stoppable_pg.start()
            wait_until(
                lambda: len([c for c in _rows(sessions)[0] if c.ended_at]) == 2,
                60,
                "both call records once PostgreSQL is back",
            )
            calls, recordings = _rows(sessions)
            # The first caller stayed to the end; the second hung up during the greeting.
            assert [(c.disposition, c.ring_count, c.hangup_cause) for c in calls] == [
                (Disposition.ANSWERED, 1, "caller BYE"),
                (Disposition.ABANDONED, 1, "caller BYE"),
            ]
            assert len(recordings) == 2  # each recording exactly once
            assert all(r.state is RecordingState.COMPLETE and r.sha256 for r in recordings)
            mine = next(r for r in recordings if r.call_pk == calls[0].id)
            with wave.open(site.file(mine.path)) as wav:
                recorded = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
            assert best_correlation(sent, recorded.astype(np.float64)) >= 0.99
        finally:
            engine.dispose()
