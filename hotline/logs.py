"""Where the log goes and in what form: readable text (the default) or JSON lines.

`[logging] format = "json"` writes one JSON object a line (python-json-logger) for a
log collector: time, level, logger, message, and `call_id` on every line about a
call, whether the line passed it (`extra={"call_id": ...}`, ivr/call_events.py) or
begins with the per-call prefix "[%s] ..." the agent's lines use (STYLE.md 7).
"""

from __future__ import annotations

import logging
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = ("levelname", "name", "message")


class CallIdFilter(logging.Filter):
    """Gives `call_id` to a record whose message starts with the per-call prefix."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "call_id", None) is None:
            msg, args = record.msg, record.args
            if isinstance(msg, str) and msg.startswith("[%s]") and isinstance(args, tuple) and args:
                record.call_id = str(args[0])
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        JSON_FIELDS,
        rename_fields={"levelname": "level", "name": "logger"},
        json_ensure_ascii=False,
        timestamp="time",  # ISO 8601 in UTC, to the millisecond
    )


def configure(level: int, form: Literal["text", "json"] = "text") -> None:
    """The root logger's one handler (stderr) in `form`; called again, it changes form."""
    logging.basicConfig(level=level, format=TEXT_FORMAT)
    root = logging.getLogger()
    for handler in root.handlers:
        if type(handler) is not logging.StreamHandler:
            continue  # another's (a test's capture): left as it is
        if form == "json":
            handler.setFormatter(json_formatter())
            if not any(isinstance(f, CallIdFilter) for f in handler.filters):
                handler.addFilter(CallIdFilter())
        else:
            handler.setFormatter(logging.Formatter(TEXT_FORMAT))
