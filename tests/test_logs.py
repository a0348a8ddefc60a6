"""`[logging] format = "json"` (issue 23): one JSON object a line, with the call's id on
every line about a call; text stays the default."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from hotline.logs import TEXT_FORMAT, configure
from hotline.settings import load_settings


@pytest.fixture(name="stream")
def stream_fixture() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_json_lines_carry_the_call_id(stream: io.StringIO) -> None:
    configure(logging.INFO, "json")
    log = logging.getLogger("ivr.agent")
    log.info("[%s] answered after %d rings (%.2f s)", "a84b4c76e66710@10.0.0.5", 2, 5.02)
    log.warning("registered again after %d failed attempts", 3)
    logging.getLogger("hotline.calls").info(
        "[%s] ended", "c-2", extra={"call_id": "c-2", "event": "ended"}
    )
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["message"] for r in lines] == [
        "[a84b4c76e66710@10.0.0.5] answered after 2 rings (5.02 s)",
        "registered again after 3 failed attempts",
        "[c-2] ended",
    ]
    assert lines[0]["call_id"] == "a84b4c76e66710@10.0.0.5"
    assert lines[0]["level"] == "INFO" and lines[0]["logger"] == "ivr.agent" and lines[0]["time"]
    assert "call_id" not in lines[1]  # not about a call
    assert (lines[2]["call_id"], lines[2]["event"]) == ("c-2", "ended")


def test_text_is_the_default_and_chinese_stays_readable(stream: io.StringIO) -> None:
    assert load_settings(environ={}).settings.logging.format == "text"
    configure(logging.INFO, "json")
    logging.getLogger("hotline").info("菜单：%s", "报修")
    assert json.loads(stream.getvalue())["message"] == "菜单：报修"
    assert "菜单" in stream.getvalue()  # not \\u escapes
    configure(logging.INFO, "text")
    logging.getLogger("hotline").info("again")
    assert stream.getvalue().splitlines()[-1].endswith("INFO hotline: again")
