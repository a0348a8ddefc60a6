"""One reception-log entry: recording, waveform, transcript, corrections, history."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from admin import audit, editing, playback, present, waveform
from admin.calls import staff_choices
from admin.db import get_session, now, settings, zone
from admin.forms import EntryForm, choices
from admin.residents import entry_card
from admin.security import requires
from recorder.models import (
    AuditEvent,
    Call,
    CallJob,
    EntryRevision,
    EntryStatus,
    FollowUp,
    JobState,
    LogEntry,
    Recording,
    Role,
    User,
)
from recorder.reception_log import original_values
from recorder.stored_paths import resolve

logger = logging.getLogger(__name__)
bp = Blueprint("entries", __name__, url_prefix="/entries")


def _entry(entry_id: int) -> LogEntry:
    entry = get_session().scalar(
        select(LogEntry)
        .where(LogEntry.id == entry_id)
        .options(
            selectinload(LogEntry.call).selectinload(Call.recordings),
            selectinload(LogEntry.call).selectinload(Call.transcripts),
            selectinload(LogEntry.revisions).selectinload(EntryRevision.user),
            selectinload(LogEntry.complaint),
            selectinload(LogEntry.responsible),
        )
    )
    if entry is None:
        abort(404)
    return entry


def _form(entry: LogEntry, data: bool) -> EntryForm:
    form = EntryForm(data=None if data else editing.form_values(entry, zone()))
    form.category.choices = choices(present.category_choices())
    form.urgency.choices = choices((u.value, str(n)) for u, n in present.URGENCY_LABELS.items())
    departments = present.departments(entry.estate_id)
    form.dispatch_department.choices = choices([("", "—"), *((d, d) for d in departments)])
    return form


def _locked(entry: LogEntry) -> frozenset[str]:
    """Masked numbers cannot be edited (the form only holds the masked text); nor can a
    summary with a number in it, shown masked (saving it would write the stars over it)."""
    if not present.must_mask():
        return frozenset()
    numbers = frozenset(n for n in ("caller_number", "phone") if getattr(entry, n))
    said = present.spoken_numbers(entry.summary or "")
    return numbers | {"summary"} if said else numbers


@bp.get("/<int:entry_id>")
@requires(Role.CLERK)
def show(entry_id: int) -> ResponseReturnValue:
    entry = _entry(entry_id)
    _audit_view(entry)
    return _render(entry, _form(entry, data=False))


def _audit_view(entry: LogEntry) -> None:
    """Opening an entry shows a resident's data: one "view_entry" row per user and entry
    within playback.WINDOW (a reload or the page after a save is the same look)."""
    session, target = get_session(), f"entry:{entry.id}"
    seen = session.scalar(
        select(AuditEvent.id)
        .where(
            AuditEvent.user_id == current_user.id,
            AuditEvent.action == "view_entry",
            AuditEvent.target == target,
            AuditEvent.at >= now() - playback.WINDOW,
        )
        .limit(1)
    )
    if seen is None:
        audit.record(session, "view_entry", target)
        session.commit()


def _matter(entry: LogEntry) -> dict[str, object]:
    """The matter's timeline and the forms of its next steps (admin/matters.py)."""
    from admin import timeline
    from admin.matter_forms import (
        CloseForm,
        HandOverForm,
        MoveForm,
        OrderForm,
        RedispatchForm,
        ReturnForm,
    )
    from admin.supervision_forms import FollowUpForm
    from recorder import dispatch, matter_states
    from recorder.matter_states import Via

    session = get_session()
    orders = dispatch.orders_of(session, entry.id)
    follow_ups = list(
        session.scalars(select(FollowUp).where(FollowUp.entry_id == entry.id).order_by(FollowUp.at))
    )
    names = present.departments(entry.estate_id)
    moves = matter_states.targets(entry.status, current_user.role, Via.FORM)
    move_form = MoveForm()
    move_form.to.choices = choices((s.value, str(present.STATUS_LABELS[s])) for s in moves)
    hand_over = HandOverForm()
    hand_over.to.choices = choices(
        (str(i), name) for i, name in staff_choices() if i != entry.responsible_user_id
    )
    open_orders = [o for o in orders if o.completed is None]
    return {
        "events": timeline.build(session, entry, orders, follow_ups),
        "return_text": timeline.return_text,
        "orders": orders,
        "open_orders": open_orders,
        "order_form": OrderForm().with_departments(list(names)),
        "redispatch_form": RedispatchForm().with_departments(list(names)),
        "return_form": ReturnForm(),
        "follow_up_form": FollowUpForm(),
        "move_form": move_form if moves else None,
        "hand_over_form": hand_over,
        "close_form": CloseForm(),
        "can_order": entry.status is not EntryStatus.CLOSED,
        "can_follow_up": entry.status is EntryStatus.DONE and not open_orders,
        "can_close": present.may_close(entry),
    }


def _render(entry: LogEntry, form: EntryForm, status: int = 200) -> ResponseReturnValue:
    call = entry.call
    legs = sorted(call.legs, key=lambda leg: leg.seq) if call else []
    ids = {leg.user_id for leg in legs if leg.user_id is not None}
    users = get_session().scalars(select(User).where(User.id.in_(ids))).all() if ids else []
    job = (
        get_session().scalar(select(CallJob.state).where(CallJob.call_pk == call.id))
        if call
        else None
    )
    return (
        render_template(
            "entries/show.html",
            entry=entry,
            form=form,
            legs=legs,
            clerk_names={user.id: user.display_name for user in users},
            locked=_locked(entry),
            recordings=call.recordings if call else [],
            missing_files={
                rec.id: recording_file(rec)
                for rec in (call.recordings if call else [])
                if rec.state.value != "purged" and not recording_file(rec).is_file()
            },
            transcripts=sorted(call.transcripts, key=lambda t: t.channel) if call else [],
            originals=original_values(entry),
            awaiting_words=job in (JobState.QUEUED, JobState.RUNNING, JobState.WAITING),
            low_confidence=settings().transcription.low_confidence,
            **_matter(entry),
            **entry_card(get_session(), entry),
        ),
        status,
    )


@bp.post("/<int:entry_id>")
@requires(Role.CLERK)
def update(entry_id: int) -> ResponseReturnValue:
    entry = _entry(entry_id)
    form = _form(entry, data=True)
    if not form.validate_on_submit():
        return _render(entry, form, 400)
    session = get_session()
    changed = editing.apply(session, entry, form, zone(), current_user.id, _locked(entry))
    session.commit()
    logger.info("entry %s: %s changed by %s", entry.id, changed, current_user.username)
    flash(_("Saved.") if changed else _("Nothing changed."), "info")
    return redirect(url_for("entries.show", entry_id=entry.id))


def recording_file(recording: Recording) -> Path:
    """The file a recording's row names, resolved against this desk's data
    directory (recorder/stored_paths.py), whatever folder the desk started in."""
    return resolve(settings().paths.data_dir, recording.path)


def _recording(recording_id: int) -> tuple[Recording, Path]:
    recording = get_session().get(Recording, recording_id)
    if recording is None or recording.state.value in ("purged", "missing"):
        abort(404)
    path = recording_file(recording)
    if not path.is_file():
        logger.error("recording %s: file %s is missing", recording.id, path)
        abort(404, description=_("The recording file is missing on this server."))
    return recording, path


@bp.get("/recordings/<int:recording_id>/audio")
@requires(Role.CLERK)
def audio(recording_id: int) -> ResponseReturnValue:
    """The WAV file with range support (seeking); each playback is audited once
    (admin/playback.py says what counts as one)."""
    recording, path = _recording(recording_id)
    response = send_file(path, mimetype="audio/wav", conditional=True, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    playback.record_read(get_session(), playback.PLAYBACK, recording, response)
    return response


@bp.get("/recordings/<int:recording_id>/peaks.json")
@requires(Role.CLERK)
def peaks(recording_id: int) -> ResponseReturnValue:
    recording, path = _recording(recording_id)
    response = jsonify(waveform.peaks(path))
    response.headers["Cache-Control"] = "private, no-store"
    playback.record_read(get_session(), playback.WAVEFORM, recording, response)
    return response
