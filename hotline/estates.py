"""Each estate's content and hours for the agent (issue 23), from the estates table.

The agent looks up the estate of every call's called number (`estate_lookup`); an
estate's content is the company's with its name and hours in the prompts' variables and,
if it has one, its own phone script (checked as the company's is: hotline/content.py).
Built once per estate as it is in the database, its prompts synthesised then: a call
never waits for speech synthesis unless its estate changed since the last call.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from hotline.content import Content, _check_script
from hotline.settings import CONFIG_DIR, Settings
from ivr.estates import EstateCall, EstateFor
from ivr.schedule import Schedule
from ivr.script import load_script
from recorder.estates import Estate, estate_for

logger = logging.getLogger(__name__)

Synthesise = Callable[[str, str], bytes]


def estate_content(
    settings: Settings, content: Content, estate: Estate, config_dir: Path = CONFIG_DIR
) -> EstateCall:
    """The company's content and hours, with what the estate has of its own."""
    org = settings.organization
    hours = estate.opening_hours or org.opening_hours
    variables = {
        **content.variables,
        "organization": estate.name or org.name,
        "opening_hours": hours.replace("-", "至"),
    }
    script = content.script
    if estate.script:
        path = config_dir / estate.script
        script = load_script(path)
        _check_script(path, script, content.compliance)
    own = org.model_copy(
        update={
            "opening_hours": hours,
            "working_days": estate.working_days or org.working_days,
            "holidays": org.holidays if estate.holidays is None else estate.holidays,
        }
    )
    return EstateCall(
        code=estate.code,
        content=dataclasses.replace(content, script=script, variables=variables),
        schedule=Schedule.from_settings(own),
    )


def _key(estate: Estate) -> tuple[object, ...]:
    return (
        estate.code,
        estate.name,
        estate.opening_hours,
        tuple(estate.working_days or ()),
        tuple(estate.holidays or ()),
        estate.script,
    )


def warm(call: EstateCall, synthesise: Synthesise, flow: bool = True) -> None:
    """Synthesise the estate's fixed prompts now, not on a call's media thread (with
    `flow` False, message mode: its greeting alone)."""
    content = call.content
    if not flow:
        synthesise("greeting", content.prompt("greeting"))
        return
    for name in content.script.prompts:
        try:
            synthesise(name, content.prompt(name))
        except KeyError:  # a prompt with per-call fields is made per call
            continue
    for name in content.script.closing:
        synthesise(f"closing.{name}", content.closing(name))


def estate_lookup(
    settings: Settings,
    content: Content,
    sessions: sessionmaker[Session],
    synthesise: Synthesise,
    flow: bool = True,
) -> EstateFor:
    """called number -> its estate's EstateCall (None: the company answers); `flow`
    False: only the greetings are synthesised (message mode says nothing else)."""
    built: dict[tuple[object, ...], EstateCall] = {}
    lock = threading.Lock()

    def lookup(called: str | None) -> EstateCall | None:
        with sessions() as session:
            estate = estate_for(session, called)
            if estate is None:
                return None
            key = _key(estate)
            with lock:
                found = built.get(key)
            if found is not None:
                return found
            made = estate_content(settings, content, estate)
        warm(made, synthesise, flow)
        with lock:
            built[key] = made
        return made

    with sessions() as session:
        for estate in session.query(Estate).order_by(Estate.id):
            made = estate_content(settings, content, estate)
            warm(made, synthesise, flow)
            built[_key(estate)] = made
            logger.info("estate %s: %s", estate.code, made.content.prompt("greeting"))
    return lookup
