"""The live desk's server-sent events: what one browser is told, polled from the database.

The agents write each call's progress row (recorder/live_calls.py) through their
journals; every admin process reads the same rows, so several agents and several desks
meet without a broker. Each stream polls `in_progress` every `poll_s` (an indexed
handful of rows) and sends only what changed:

- ``reset`` first (the browser empties its list: calls that ended while it was away go);
- ``call`` {"id", "html"}: a call's card, new or at a new stage (the number masked per
  role, the directory card rendered once per call and audited as a directory view);
- ``gone`` {"id"}: the call ended;
- ``alert`` {"kind", "title", "body", "url"} with the entry's id as the event id, so a
  reconnecting browser (Last-Event-ID) misses none: a new safety or leak call, a
  complaint or a missed call the user has not switched off;
- a comment line every `heartbeat_s` when nothing else was sent (proxies keep the
  connection), and ``bye`` after `lifetime_s`: the stream ends and EventSource
  reconnects (retry 1 s), so no server thread is held for good.

Every wait is bounded by `poll_s`; a closed browser ends the generator at its next write.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, render_template, request, stream_with_context
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from admin import audit, present
from admin.residents import past_calls
from recorder import db, live_calls, residents
from recorder.live_calls import InProgress
from recorder.models import Call, Disposition, LogEntry, Urgency, User, WorkOrder

RETRY_MS = 1000
ALERTS_PER_POLL = 50
STAGE_LABELS = {
    "ringing": _l("Ringing"),
    "greeting": _l("Greeting"),
    "after_hours": _l("After-hours message"),
    "menu": _l("Menu"),
    "message": _l("Leaving a message"),
    "bridge": _l("Put through"),
    "closing": _l("Closing"),
}
ALERT_LABELS = {
    "safety": _l("Safety call"),
    "leak": _l("Leak"),
    "complaint": _l("Complaint"),
    "missed": _l("Missed call"),
}


@dataclass(frozen=True)
class Timing:
    poll_s: float = 0.1
    heartbeat_s: float = 15.0
    lifetime_s: float = 300.0


def message(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    """One event in text/event-stream form (the JSON is one line: no `data:` splitting)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def alert_kinds(entry: LogEntry, call: Call | None) -> list[str]:
    kinds = []
    if entry.urgency is Urgency.SAFETY:
        kinds.append("safety")
    if entry.urgency is Urgency.LEAK:
        kinds.append("leak")
    if entry.category == "complaint":
        kinds.append("complaint")
    if call is not None and call.disposition in (Disposition.MISSED, Disposition.ABANDONED):
        kinds.append("missed")
    return kinds


def events(sessions: sessionmaker[Session], timing: Timing) -> Iterator[str]:
    last = request.headers.get("Last-Event-ID", "")
    desk = _Desk(db.reading(sessions), sessions, timing, int(last) if last.isdigit() else None)
    return stream_with_context(desk.run())


@dataclass
class _Desk:
    sessions: sessionmaker[Session]  # reading only: polled often (recorder.db.reading)
    writing: sessionmaker[Session]  # the directory views' audit rows
    timing: Timing
    last_entry: int | None
    shown: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    directory: dict[int, str] = field(default_factory=dict)
    behind: bool = False  # directory cards left for the next turn: poll again at once

    def run(self) -> Iterator[str]:
        wake = threading.Event()  # never set: a bounded wait between polls
        start = sent = time.monotonic()
        with self.sessions() as session:
            switches = live_calls.alerts_of(session, current_user.id)
            if self.last_entry is None:
                self.last_entry = session.scalar(select(func.max(LogEntry.id))) or 0
        yield f"retry: {RETRY_MS}\n" + message("reset", {}, self.last_entry)
        while time.monotonic() - start < self.timing.lifetime_s:
            with self.sessions() as session:
                for chunk in self._calls(session):
                    sent = time.monotonic()
                    yield chunk
                alerts = self._alerts(session, switches)
                session.commit()
            if alerts:
                sent = time.monotonic()
                yield "".join(alerts)
            elif time.monotonic() - sent >= self.timing.heartbeat_s:
                sent = time.monotonic()
                yield ": heartbeat\n\n"
            wake.wait(0 if self.behind else self.timing.poll_s)
        yield message("bye", {})

    def _calls(self, session: Session) -> Iterator[str]:
        """What changed since the last poll: calls gone, then every new or moved call at
        once (a new caller's card still looking the directory up), then each new
        caller's directory card as it is found (its audit row committed first), for at
        most `poll_s`: the rest wait for the next turn, after the next poll's new calls
        (a burst's later callers are not held behind the earlier ones' directory cards)."""
        now = {c.call_pk: c for c in live_calls.in_progress(session)}
        gone = [pk for pk in self.shown if pk not in now]
        for pk in gone:
            del self.shown[pk]
            self.directory.pop(pk, None)
        moved = [call for pk, call in now.items() if self.shown.get(pk) != call.version]
        lacking = [call for pk, call in now.items() if pk not in self.directory]
        out = [message("gone", {"id": pk}) for pk in gone]
        render = _template("live/_call.html") if moved or lacking else None
        out += [self._card(session, call, render) for call in moved if render]
        session.commit()  # never wait on the browser inside a transaction
        if out:
            yield "".join(out)
        until, self.behind = time.monotonic() + self.timing.poll_s, False
        for i, call in enumerate(lacking):
            if i and time.monotonic() > until:  # one at least: the desk moves on
                self.behind = True
                return
            if render:
                self.directory[call.call_pk] = self._directory(session, call)
                card = self._card(session, call, render)
                session.commit()
                yield card

    def _card(self, session: Session, call: InProgress, render: Callable[..., str]) -> str:
        self.shown[call.call_pk] = call.version
        html = render(
            call=call, stage=_stage_text(session, call), directory=self.directory.get(call.call_pk)
        )
        return message("call", {"id": call.call_pk, "html": html})

    def _directory(self, session: Session, call: InProgress) -> str:
        """The caller's household(s), the unit's past calls and open work orders."""
        cards = residents.households_of(session, call.caller_number)
        home = cards[0] if len(cards) == 1 else None
        calls = past_calls(session, home.address)[:5] if home else []
        orders = _open_orders(session, home.address) if home else []
        if cards:  # residents' data shown: audited like the directory's pages (seed 004 四)
            with self.writing.begin() as writing:  # audited before it is shown
                audit.record(
                    writing,
                    "view_household",
                    f"household:{cards[0].id}" if home else "households",
                    live_call=call.call_id[:64],
                    households=[c.id for c in cards],
                )
        return render_template(
            "live/_directory.html", cards=cards, home=home, unit_calls=calls, orders=orders
        )

    def _alerts(self, session: Session, switches: live_calls.AlertSwitches) -> list[str]:
        rows = session.execute(
            select(LogEntry, Call)
            .outerjoin(Call, Call.id == LogEntry.call_pk)
            .where(LogEntry.id > (self.last_entry or 0))
            .order_by(LogEntry.id)
            .limit(ALERTS_PER_POLL)
        ).all()
        out = []
        for entry, call in rows:
            self.last_entry = entry.id
            kinds = [k for k in alert_kinds(entry, call) if k in switches.kinds]
            if not kinds:
                continue
            number = present.phone(entry.caller_number or (call.caller_number if call else None))
            data: dict[str, Any] = {
                "kind": kinds[0],
                "title": " · ".join(str(ALERT_LABELS[k]) for k in kinds),
                "body": " ".join(x for x in (number, entry.unit or "", entry.summary or "") if x),
                "url": f"/entries/{entry.id}",
                "sound": switches.sound,
                "browser": switches.browser,
            }
            data["body"] = present.masked_text(data["body"])[:200]
            out.append(message("alert", data, entry.id))
        return out


def _template(name: str) -> Callable[..., str]:
    """A template with the request's context made once (the desk's context processors
    build a form each time: 20 new calls at once would pay for it 20 times)."""
    template = current_app.jinja_env.get_template(name)
    context: dict[str, Any] = {}
    current_app.update_template_context(context)
    return lambda **values: template.render({**context, **values})


def _open_orders(session: Session, address: str) -> list[WorkOrder]:
    return list(
        session.scalars(
            select(WorkOrder)
            .join(LogEntry, LogEntry.id == WorkOrder.entry_id)
            .where(
                WorkOrder.completed.is_(None),
                or_(LogEntry.unit == address, LogEntry.subject_unit == address),
            )
            .order_by(WorkOrder.dispatched_at)
            .limit(10)
        )
    )


def _stage_text(session: Session, call: InProgress) -> str:
    """Where the call is, as the clerk reads it: 菜单：报修, 已转接 王芳 (8001)."""
    label = str(STAGE_LABELS.get(call.stage, call.stage))
    category = call.detail.get("category")
    if category:
        label = f"{label}: {present.category_label(str(category))}"
    if call.stage == "bridge" and call.detail.get("extension"):
        user = session.get(User, call.detail["user_id"]) if call.detail.get("user_id") else None
        who = f"{user.display_name} ({call.detail['extension']})" if user else ""
        label = f"{label}: {who or call.detail['extension']}"
    return label
