"""hotline agent: the SIP phone agent (answers within three rings)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
import signal
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING

from hotline.app import App

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from hotline.content import Content
    from ivr.agent import Agent
    from ivr.agent_setup import FlowSetup
    from ivr.flow_dial import Clerk
    from ivr.flow_timers import Scheduler
    from ivr.metrics import AgentMetrics
    from ivr.outbound import Dialer
    from ivr.outbound_clerk import ClerkBridge
    from ivr.prompts import PromptCache
    from ivr.sip import Endpoint, SipCall, SipPhone

READY = True
NAME = "agent"
HELP = "run the SIP phone agent (answers within three rings)"

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sip", metavar="HOST:PORT", help="where the agent listens for SIP")
    parser.add_argument(
        "--registrar", metavar="HOST:PORT", help="register here; omitted: direct mode"
    )
    parser.add_argument("--user", help="SIP user (extension) to register as")
    parser.add_argument("--password", help="SIP digest password")
    parser.add_argument(
        "--trust",
        action="append",
        metavar="CIDR",
        help="accept calls from these networks (repeatable); registered mode also takes the registrar's",
    )
    parser.add_argument("--answer-after-rings", type=int, metavar="N", help="0 to 3")


def endpoint(value: str) -> Endpoint:
    from ivr.sip import Endpoint

    host, _, port = value.rpartition(":")
    return Endpoint(host, int(port))


def build_agent(app: App, metrics: AgentMetrics | None = None) -> tuple[Agent, SipPhone]:
    """The agent and its phone, wired from the settings (also used by `hotline demo`);
    with `metrics`, each call event is counted and logged once (ivr/call_events.py)."""
    from hotline.settings import CONFIG_DIR
    from ivr.agent import Agent
    from ivr.agent_setup import Script
    from ivr.flow_timers import ThreadScheduler
    from ivr.prompts import PromptCache
    from ivr.sip import SipPhone
    from transcripts.live import LiveTranscriber, TranscribingCallLog

    settings, content = app.settings, app.content
    sessions = app.ready_database()
    recovered = app.recover()  # the journal's events first, then partial recordings
    if recovered.calls:
        logger.warning("recovered %d interrupted calls at start", len(recovered.calls))
    prompts = PromptCache(
        settings.paths.prompt_cache,
        CONFIG_DIR / "prompts",
        settings.agent.tts_voice,
        settings.agent.tts_rate,
        phone_one=settings.agent.tts_phone_one,
    )
    # A first start synthesises what this mode says, all at once (the plain script: two).
    prompts.prepare(script_prompts(content, flow=settings.agent.mode == "flow"))
    estates = None
    if settings.agent.mode != "flow":  # the flow's estates are its own (FlowSetup)
        from hotline.estates import estate_lookup
        from ivr.estates import EstateGreeting

        lookup = estate_lookup(settings, content, sessions, prompts.audio, flow=False)
        estates = EstateGreeting(lookup, prompts.audio)
    script = Script(
        prompts.audio("greeting", content.prompt("greeting")),
        prompts.audio("closing", content.closing("default")),
        estates,
    )
    live = LiveTranscriber(app.pipeline.engine)  # type: ignore[arg-type]
    if not live.preload():  # the model loads here, not on the first call's audio thread
        logger.warning("no usable speech model: calls are recorded, transcription waits for one")
    call_log = TranscribingCallLog(app.call_log, live, sessions)  # journaled: docs/journal.md
    if metrics is not None:
        from ivr.call_events import ObservedCallLog

        call_log = ObservedCallLog(call_log, metrics)  # type: ignore[assignment]
    sip = settings.sip
    # One scheduler for the call flow's timers and the SIP retransmissions; the phone's
    # stop() closes it (ivr/sip/timers.py).
    timers = ThreadScheduler(name="timers")
    flow = None
    if settings.agent.mode == "flow":
        flow = _flow_setup(app, prompts, lambda uri: phone.call(uri), timers)  # noqa: PLW0108 (phone is made below)
    agent = Agent(settings, script, call_log, audio_tap=live.tap, flow=flow)
    phone = SipPhone(
        endpoint(sip.listen),
        agent.on_call,
        registrar=endpoint(sip.registrar) if sip.registrar else None,
        user=sip.user,
        password=sip.password,
        rtp_ports=(sip.rtp_port_low, sip.rtp_port_high),
        trusted=sip.trusted,
        peer=None if sip.registrar else _peer(sip.clerk_uri_template, sip.outbound_uri_template),
        codecs=sip.codecs,
        register_expires=sip.register_expires,
        rtp_sender=sip.rtp_sender,
        timers=timers,
        on_refused=None if metrics is None else metrics.refused,
    )
    if metrics is not None:
        from ivr.metrics import MediaFaults

        MediaFaults.attach(metrics, phone.media_faults)
    return agent, phone


def build_dialer(app: App, phone: SipPhone) -> Dialer:
    """The agent's outbound calls (issue 22); its fixed prompts are synthesised on its own
    thread before its first call, so inbound calls are answered meanwhile."""
    from hotline.errors import ConfigError
    from hotline.settings import CONFIG_DIR
    from ivr.agent_setup import Clock
    from ivr.flow_timers import ThreadScheduler
    from ivr.outbound import CALL_BACK_GREETING, Dialer
    from ivr.prompts import PromptCache
    from ivr.sip_wire import CallerId
    from ivr.survey import closing_names, prompt_names

    settings, content = app.settings, app.content
    wanted = prompt_names() | ({CALL_BACK_GREETING} if settings.outbound.call_back else set())
    missing = wanted - set(content.script.prompts)
    missing |= closing_names() - set(content.script.closing)
    if missing:
        raise ConfigError(
            f"outbound.enabled: the phone script {settings.content.script} lacks {sorted(missing)}"
        )
    if "{registrar}" in settings.sip.outbound_uri_template and not settings.sip.registrar:
        raise ConfigError(
            "outbound.enabled in direct mode: set sip.outbound_uri_template to the PBX or "
            'trunk, e.g. "sip:{number}@pbx.example.net"'
        )
    prompts = PromptCache(
        settings.paths.prompt_cache,
        CONFIG_DIR / "prompts",
        settings.agent.tts_voice,
        settings.agent.tts_rate,
        phone_one=settings.agent.tts_phone_one,
    )
    clerks = _clerk_bridge(app, phone)
    if clerks is None and settings.outbound.call_back:
        logger.warning("outbound.call_back: no address for the clerks' phones; not calling back")
    per_call = ("_intro", "whisper")
    sip = settings.sip
    # Registered: From stays the account the registrar authenticates (the number goes in
    # P-Asserted-Identity); direct to a PBX or trunk: From shows the site's number too.
    shown = CallerId(sip.caller_id_name, sip.caller_id_number, keep_user=bool(sip.registrar))
    return Dialer(
        settings,
        app.ready_database(),
        app.call_log,
        lambda uri: phone.call(uri, caller_id=shown),  # the resident sees the site
        # An intro (the unit, the day) and a clerk's whisper (the unit) are said on one
        # call: not kept in memory.
        lambda name, text: (prompts.once if name.endswith(per_call) else prompts.audio)(name, text),
        content,
        ThreadScheduler(),
        Clock(),
        clerks=clerks,
        transcribe=_comment_text(app),
    )


def script_prompts(content: Content, flow: bool = True) -> list[tuple[str, str]]:
    """Every (name, text) the phone script says as it is: the prompts and the closings
    (with `flow` False, the plain script's greeting and closing only). A prompt with
    per-call fields (the whisper names the category) is made per call."""
    names = [("greeting", content.prompt("greeting")), ("closing", content.closing("default"))]
    if not flow:
        return names
    for name in content.script.prompts:
        with contextlib.suppress(KeyError):
            names.append((name, content.prompt(name)))
    names += [(f"closing.{name}", content.closing(name)) for name in content.script.closing]
    return names


def _comment_text(app: App) -> Callable[[Path], str | None]:
    """A resident's spoken comment (a mono WAV) as text, by the worker's speech engine;
    None while no model is usable (the comment stays a recording to transcribe)."""

    def transcribe(path: Path) -> str | None:
        from transcripts.engine import SpeechEngine

        engine = app.pipeline.engine()
        if not isinstance(engine, SpeechEngine):
            return None
        return engine.transcribe_file(path)["mono"].text

    return transcribe


def _clerk_bridge(app: App, phone: SipPhone) -> ClerkBridge | None:
    """Key 0 on a call the agent placed rings the duty roster as the inbound flow's 0
    does (its [person] transfer); None in direct mode with no address for the clerks."""
    from hotline.errors import ConfigError
    from ivr.flow_config import load_flow
    from ivr.flow_runner import clerk_uri, roster_clerks
    from ivr.outbound_clerk import ClerkBridge
    from recorder.staff import duty_roster

    try:
        uri_for = clerk_uri(app.settings.sip)
    except ConfigError as exc:
        logger.warning("%s; on calls the agent places, 0 asks for a clerk's call", exc)
        return None
    sessions = app.ready_database()

    def roster() -> list[Clerk]:
        with sessions() as session:
            return roster_clerks(duty_roster(session))

    flow = load_flow(app.settings, app.content)
    return ClerkBridge(flow.person, roster, uri_for, phone.call, flow)


def _peer(clerks: str, residents: str) -> Endpoint | None:
    """Direct mode: where the agent's INVITEs go: the clerks' PBX, else the residents'
    (sip.outbound_uri_template); the SIP layer sends every INVITE to one peer."""
    return _clerks_host(clerks) or _clerks_host(residents)


def _clerks_host(template: str) -> Endpoint | None:
    """Direct mode: where clerks' phones are rung — the host of sip.clerk_uri_template
    (the PBX or the phones' proxy); the agent sends its INVITEs there."""
    from ivr.sip import Endpoint

    match = re.fullmatch(r"sips?:[^@]*@\[?([^\]:;>]+)\]?(?::(\d+))?(?:;.*)?", template)
    if match is None or "{" in match.group(1):
        return None
    return Endpoint(match.group(1), int(match.group(2) or 5060))


def _flow_setup(
    app: App, prompts: PromptCache, dial: Callable[[str], SipCall], timers: Scheduler
) -> FlowSetup:
    """The call flow (agent.mode = "flow"): checked and its prompts synthesised before any call."""
    from sqlalchemy import select

    from hotline.errors import ConfigError
    from hotline.estates import estate_lookup
    from ivr.agent_setup import FlowSetup
    from ivr.flow_config import load_flow
    from ivr.flow_runner import clerk_uri, roster_clerks
    from ivr.schedule import Schedule
    from recorder.estates import Estate
    from recorder.staff import duty_roster

    settings, content = app.settings, app.content
    config = load_flow(settings, content)
    for name in content.script.prompts:
        # A prompt with per-call fields (the whisper names the category) is made per call.
        with contextlib.suppress(KeyError):
            prompts.audio(name, content.prompt(name))
    for name in content.script.closing:
        prompts.audio(f"closing.{name}", content.closing(name))
    sessions = app.ready_database()

    def roster(estate: str | None, /) -> list[Clerk]:
        """The estate's duty roster (recorder.staff.duty_roster), by its code."""
        with sessions() as session:
            estate_id = None
            if estate is not None:
                estate_id = session.scalar(select(Estate.id).where(Estate.code == estate))
            return roster_clerks(duty_roster(session, estate_id))

    try:
        uri_for = clerk_uri(settings.sip)
    except ConfigError as exc:  # direct mode and no address for the clerks' phones
        logger.warning("%s; until then callers who press 0 leave a message", exc)

        def no_clerks(_estate: str | None, /) -> list[Clerk]:
            return []

        roster, uri_for = no_clerks, str
    return FlowSetup(
        config=config,
        content=content,
        schedule=Schedule.from_settings(settings.organization),
        scheduler=timers,
        roster=roster,
        prompts=prompts.audio,
        dial=dial,
        uri_for=uri_for,
        estate_for=estate_lookup(settings, content, sessions, prompts.audio),
    )


def run(args: argparse.Namespace, app: App) -> int:
    from prometheus_client import CollectorRegistry

    from hotline.ops import health_server
    from ivr.metrics import AgentMetrics

    metrics = AgentMetrics(CollectorRegistry())
    agent, phone = build_agent(app, metrics)
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    dialer = build_dialer(app, phone) if app.settings.outbound.enabled else None
    phone.start()
    calling = None
    if dialer is not None:
        calling = threading.Thread(target=dialer.run, name="outbound", daemon=True)
        calling.start()
        logger.info("outbound calls on: %s", app.settings.outbound.hours)
    sip = app.settings.sip
    mode = (
        f"registered as {sip.user} at {sip.registrar}"
        if sip.registrar
        else f"direct mode, trusting {', '.join(sip.trusted)}"
    )
    logger.info(
        "agent listening on %s (%s), answering after %d rings",
        sip.listen,
        mode,
        app.settings.ringing.answer_after_rings,
    )
    health = health_server(app, "agent", app.settings.agent.health_listen, metrics.registry)
    print(f"agent ready on {sip.listen}", flush=True)
    stop.wait()
    if health is not None:
        health.stop()
    started = time.monotonic()
    agent.stopping.set()
    if dialer is not None and calling is not None:
        dialer.stop()
        calling.join(10)
    phone.stop()
    app.close()  # the journal applies what it can first
    logger.info("agent stopped in %.1f s", time.monotonic() - started)
    return 0
