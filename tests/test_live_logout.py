"""Logging out ends the live desk's stream (issue 19): an open stream checks its login
every heartbeat (admin/live_stream.py) and ends with a `logout` event within one, instead
of showing calls and residents' data to the end of its 300 s. What is kept: another login
of the same clerk (another browser) goes on streaming."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_admin import Desk, build
from tests.test_live_desk import Stream


@pytest.fixture(name="web")
def web_fixture(tmp_path: Path) -> Iterator[Desk]:
    for desk in build(tmp_path, f"sqlite:///{tmp_path / 'hotline.db'}"):
        # A heartbeat (and the login's check) every 0.2 s; the stream would last 30 s.
        desk.flask.config.update(LIVE_POLL_S=0.01, LIVE_HEARTBEAT_S=0.2, LIVE_LIFETIME_S=30.0)
        yield desk


def test_logging_out_ends_the_open_stream_within_a_heartbeat(web: Desk) -> None:
    web.login("clerk")
    other = Desk(web.app, web.flask, web.seeded)  # the same clerk in another browser
    other.login("clerk")
    stream = Stream(web)
    try:
        stream.next_event("reset")
        assert web.post("/logout", {}, page="/live/") == 302
        started = time.monotonic()
        assert stream.next_event("logout", within_s=3) == {"_id": None}
        assert time.monotonic() - started < 1.0  # within the 0.2 s heartbeat, not 30 s
        with pytest.raises(StopIteration):  # the stream is over
            stream.next_event("call", within_s=1)
    finally:
        stream.close()
    # EventSource's reconnect is refused: the page asks for a login.
    assert web.client.get("/live/stream").status_code in (302, 401)
    # The other login is untouched: its stream goes on, heartbeat after heartbeat.
    staying = Stream(other)
    try:
        staying.next_event("reset")
        with pytest.raises(AssertionError, match="no 'logout' event"):
            staying.next_event("logout", within_s=0.7)
        assert getattr(staying, "heartbeats", 0) >= 2
    finally:
        staying.close()
