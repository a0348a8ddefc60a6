"""The resident directory in the desk (业主档案, issue 19): staff look households up, the
admin role edits residents; numbers masked per role as elsewhere, and every view and
change audited (seed 004 四: residents' data, 保密制度)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from admin import audit
from admin.db import get_session
from admin.residents_forms import ResidentForm
from admin.security import requires
from recorder import residents
from recorder.directory import Household, Resident
from recorder.models import LogEntry, Role
from transcripts.directory_file import numbers

bp = Blueprint("residents", __name__, url_prefix="/residents")
PAST_CALLS = 20


@bp.get("/")
@requires(Role.CLERK)
def index() -> ResponseReturnValue:
    """Households by address; ?q= finds an address or a name."""
    session = get_session()
    q = (request.args.get("q") or "").strip()[:64]
    query = select(Household).order_by(Household.building, Household.unit_no, Household.room)
    if q:
        query = query.where(
            or_(
                Household.address.contains(q),
                Household.residents.any(Resident.name.contains(q)),
            )
        )
    households = session.scalars(query.limit(200)).all()
    audit.record(session, "view_directory", "directory", q=q, shown=len(households))
    session.commit()
    return render_template(
        "residents/index.html", cards=[residents.card(h) for h in households], q=q
    )


def past_calls(session: Session, address: str) -> list[LogEntry]:
    """The unit's calls, newest first: those from it and those about it."""
    return list(
        session.scalars(
            select(LogEntry)
            .where(or_(LogEntry.unit == address, LogEntry.subject_unit == address))
            .order_by(LogEntry.received_at.desc())
            .limit(PAST_CALLS)
        )
    )


@bp.get("/<int:household_id>")
@requires(Role.CLERK)
def show(household_id: int) -> ResponseReturnValue:
    session = get_session()
    household = session.get(Household, household_id)
    if household is None:
        abort(404)
    audit.record(session, "view_household", f"household:{household.id}")
    session.commit()
    return render_template(
        "residents/show.html",
        card=residents.card(household),
        household=household,
        history=residents.history(session, household.id),
        calls=past_calls(session, household.address),
        form=ResidentForm() if current_user.role is Role.ADMIN else None,
    )


@bp.post("/<int:household_id>")
@requires(Role.ADMIN)
def save(household_id: int) -> ResponseReturnValue:
    """Add a resident to the household, or change one (by name)."""
    session = get_session()
    household = session.get(Household, household_id)
    if household is None:
        abort(404)
    form = ResidentForm()
    keys = [residents.phone_key(n) for n in numbers(form.phones.data or "")]
    if not form.validate_on_submit() or None in keys:
        flash(_("Not saved: check the name, relation and phone numbers."), "error")
        return redirect(url_for("residents.show", household_id=household.id))
    address = residents.Address(household.building, household.unit_no, household.room)
    change = residents.Change(
        address,
        form.name.data.strip(),
        [k for k in keys if k is not None],
        form.relation.data or None,
        (form.notes.data or "").strip() or None,
        bool(form.priority.data),
    )
    outcome = residents.save(session, change, "desk", current_user.id)
    audit.record(session, "edit_resident", f"household:{household.id}", name=change.name)
    session.commit()
    if outcome != "unchanged":
        flash(_("Saved: %(name)s.", name=change.name), "info")
    return redirect(url_for("residents.show", household_id=household.id))


def entry_card(session: Session, entry: LogEntry) -> dict[str, object]:
    """The directory card on an entry's page: the caller's household (or the unit's, from
    speech), the unit's past calls (this one left out)."""
    cards = residents.households_of(session, entry.caller_number)
    if not cards and entry.unit:
        parts = residents.parse_address(entry.unit)
        household = residents.household_at(session, parts) if parts else None
        cards = [residents.card(household)] if household is not None else []
    home = cards[0] if len(cards) == 1 else None
    calls = [e for e in past_calls(session, home.address) if e.id != entry.id] if home else []
    return {"directory_cards": cards, "directory_home": home, "unit_calls": calls}
