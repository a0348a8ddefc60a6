"""hotline demo: a real SIP call to a local agent from a built-in caller.

Without --use-running-agent it starts an agent in direct mode on loopback
(free ports, the configured data directory) and calls it; with it, it calls
the agent already running at sip.listen (what `hotline run` does). The
caller is a second user agent in this process, through the same SIP
adapter, saying a resident's request synthesised by espeak-ng (or --audio).
Then it prints the call record and the log entry the pipeline made.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hotline.app import App
from hotline.errors import HotlineError
from ivr.schedule import Schedule, is_open

if TYPE_CHECKING:
    from ivr.prompts import PromptCache
    from ivr.sip import SipCall

READY = True
NAME = "demo"
HELP = "place a demo call to a local agent and show the log entry it makes"
REQUEST = "您好，我姓王，住在三栋二单元五零一，我家卫生间漏水了，请尽快派人来修。电话是一三八一二三四五六七八。"
# Seconds of the menu a caller hears before pressing a key (the menu takes keys while it plays).
MENU_HEARD_S = 1.0

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--audio", metavar="WAV", help="what the demo caller says (default: a synthesised request)"
    )
    parser.add_argument(
        "--use-running-agent", action="store_true", help="call the agent at sip.listen"
    )


def _caller_audio(path: str | None, prompts: PromptCache) -> bytes:
    """What the demo caller says: the WAV given, else `REQUEST` in the agent's own
    Mandarin voice (ivr/prompts.py), so a Mandarin model hears Mandarin."""
    from ivr.prompts import _to_telephone

    if path:
        return _to_telephone(Path(path))
    return prompts.audio("demo_request", REQUEST)


#: How long the demo waits for the agent to answer SIP: `hotline run` starts both at
#: once and the agent synthesises its prompts first (a minute on a slow first start).
AGENT_READY_S = 180.0


def agent_answers(at: str, timeout: float) -> bool:
    """Whether a SIP agent answers an OPTIONS request at HOST:PORT within `timeout` s.

    Asked every half second until the deadline: the agent answers only once its
    prompts are ready and it listens, so the demo's INVITE is never sent into
    the void (it would wait out the 30 s answer timeout). Any SIP response
    counts; an ICMP "port unreachable" (nothing listening yet) does not.
    """
    host, _, port = at.rpartition(":")
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect((host, int(port)))
        local_host, local_port = sock.getsockname()[:2]
        tag = secrets.token_hex(6)
        request = (
            f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {local_host}:{local_port};branch=z9hG4bK{tag};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:demo@{local_host}>;tag={tag}\r\n"
            f"To: <sip:{host}:{port}>\r\n"
            f"Call-ID: ready-{tag}@{local_host}\r\n"
            "CSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            sock.settimeout(min(0.5, left))
            try:
                sock.send(request)
                if sock.recv(65535).startswith(b"SIP/2.0 "):
                    return True
            except (ConnectionRefusedError, TimeoutError):
                pass
            except OSError as exc:  # e.g. the host is unreachable: keep asking until the deadline
                logger.debug("OPTIONS to %s: %s", at, exc)
            time.sleep(max(0.0, min(0.5, deadline - time.monotonic())))


def _free_udp() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prompts(app: App) -> PromptCache:
    from hotline.settings import CONFIG_DIR
    from ivr.prompts import PromptCache

    settings = app.settings
    return PromptCache(
        settings.paths.prompt_cache,
        CONFIG_DIR / "prompts",
        settings.agent.tts_voice,
        settings.agent.tts_rate,
        phone_one=settings.agent.tts_phone_one,
    )


def _greeting_seconds(app: App, prompts: PromptCache) -> float:
    return len(prompts.audio("greeting", app.content.prompt("greeting"))) / 16000


def _beep(pcm: bytes, hz: float = 1000.0) -> bool:
    """Whether 20 ms of audio is the agent's confirmation beep: loud, and nearly all at `hz`."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if samples.size < 80 or np.sqrt(np.mean(samples**2)) < 1000:
        return False
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    near = round(hz * samples.size / 8000)
    return bool(spectrum[max(near - 1, 0) : near + 2].sum() > 0.8 * spectrum.sum())


def _wait_for_beep(call: SipCall, timeout: float) -> bool:
    """Listen to the agent until its beep (the flow asks for the message after it)."""
    from ivr.playout import Playout

    heard, run = Playout(call.read, call.buffered), 0
    deadline = time.monotonic() + timeout
    while not call.ended and time.monotonic() < deadline:
        audio = heard.tick()
        for at in range(0, len(audio), 320):
            run = run + 1 if _beep(audio[at : at + 320]) else 0
            if run >= 5:  # 100 ms of the tone
                return True
        time.sleep(0.02)
    return False


def _wait_for_greeting(call: SipCall, greeting_s: float, timeout: float) -> bool:
    """Listen until the agent's greeting has been heard, and `MENU_HEARD_S` of what follows.

    Timed from the first sound the agent sends, not from the 200 OK: on a busy
    machine the greeting may start a moment after the answer, and a key pressed
    during the greeting is ignored by design (the 报号 is always heard in full).
    """
    from ivr.playout import Playout

    heard, started, after = Playout(call.read, call.buffered), False, 0.0
    deadline = time.monotonic() + timeout
    while not call.ended and time.monotonic() < deadline:
        audio = heard.tick()
        for at in range(0, len(audio), 320):
            frame = np.frombuffer(audio[at : at + 320], dtype="<i2").astype(np.float64)
            if not started and frame.size and np.sqrt(np.mean(frame**2)) > 300:
                started = True
            if started:
                after += frame.size / 8000
        if started and after >= greeting_s + MENU_HEARD_S:
            return True
        time.sleep(0.02)
    return False


def _say(call: SipCall, audio: bytes) -> None:
    from ivr.sip import FRAME_BYTES

    start = time.monotonic()
    for tick, offset in enumerate(range(0, len(audio), FRAME_BYTES)):
        if call.ended:
            return
        call.write(audio[offset : offset + FRAME_BYTES].ljust(FRAME_BYTES, b"\x00"))
        time.sleep(max(0.0, start + (tick + 1) * 0.02 - time.monotonic()))


def _call(
    agent_at: str,
    user: str,
    audio: bytes,
    greeting_s: float,
    flow: bool,
    open_now: bool = True,
    timeout: float = 120,
    said: str = REQUEST,
) -> str:
    """Call the agent, wait for the answer, speak, hang up; the Call-ID.

    With the call flow the caller does what a resident does: presses 1
    (repairs) during the menu, speaks after the beep, presses #, and lets the
    agent say goodbye and hang up. Outside opening hours (`open_now` false)
    there is no 1 to press: the caller hears the after-hours message, lets
    the on-call key (9, emergencies only) pass and speaks after the beep.
    """
    from hotline.commands.agent import endpoint
    from ivr.sip import SipPhone

    caller = SipPhone(
        endpoint(f"127.0.0.1:{_free_udp()}"),
        lambda _call: None,
        user="13800138000",
        rtp_ports=(30000, 30400),
        peer=endpoint(agent_at),
    )
    caller.start()
    try:
        call = caller.call(user)
        deadline = time.monotonic() + 30
        while not call.answered and not call.ended and time.monotonic() < deadline:
            time.sleep(0.05)
        if not call.answered:
            raise HotlineError(f"the agent at {agent_at} did not answer")
        print("demo: the agent answered and greets the caller", flush=True)
        if flow and not open_now:
            print(
                "demo: the desk is closed now (organization.opening_hours): the caller hears "
                "the after-hours message and waits for the beep",
                flush=True,
            )
            if not _wait_for_beep(call, timeout=90):
                raise HotlineError("the agent never asked for the message (no beep heard)")
        # A polite caller lets the greeting finish (and, in the flow, hears the menu begin).
        elif not _wait_for_greeting(call, greeting_s, timeout=60):
            raise HotlineError("the agent never greeted the caller (no audio heard)")
        elif flow:
            print("demo: the caller presses 1 (repairs) and waits for the beep", flush=True)
            call.send_dtmf("1")
            if not _wait_for_beep(call, timeout=90):
                raise HotlineError("the agent never asked for the message (no beep heard)")
        print(f"demo: the caller says: {said}", flush=True)
        _say(call, audio)
        if flow:
            call.send_dtmf("#")
            print("demo: the caller presses # and hears the closing", flush=True)
            deadline = time.monotonic() + 90
            while not call.ended and time.monotonic() < deadline:
                time.sleep(0.1)
        else:
            time.sleep(1.0)
        call.hangup()
        return call.call_id
    finally:
        caller.stop()


def _show(app: App, call_id: str, wait_s: float) -> None:
    from hotline.commands.ingest import entry_json

    deadline = time.monotonic() + wait_s
    result = entry_json(app, call_id)
    while result.get("id") is None and time.monotonic() < deadline:
        time.sleep(0.5)
        result = entry_json(app, call_id)
    from sqlalchemy import select

    from recorder.models import Call

    with app.sessions() as session:
        call = session.scalars(select(Call).where(Call.call_id == call_id)).one()
        print(
            f"demo: call {call.call_id}: {call.disposition.value}, answered after {call.ring_count} rings, "
            f"ended in {call.ended_in} ({call.hangup_cause})"
        )
    print(f"demo: log entry: {result}")
    if result.get("transcript") is None:
        print(
            "demo: no speech model is configured, so the entry waits for its transcript "
            "(see README: The speech model); it is filled as soon as one is set."
        )


def run(args: argparse.Namespace, app: App) -> int:
    from hotline.commands.agent import script_prompts

    prompts = _prompts(app)
    settings = app.settings
    flow = settings.agent.mode == "flow"
    # The caller's words and the agent's script in one go (the agent's own start finds them).
    prompts.prepare([("demo_request", REQUEST), *script_prompts(app.content, flow)])
    audio = _caller_audio(args.audio, prompts)
    greeting_s = _greeting_seconds(app, prompts)
    open_now = is_open(Schedule.from_settings(settings.organization), datetime.now(UTC))
    said = f"({args.audio})" if args.audio else REQUEST
    running = args.use_running_agent
    if not running and agent_answers(settings.sip.listen, timeout=1.0):
        print(
            f"demo: an agent already answers at {settings.sip.listen} (`hotline run`?): "
            "calling it instead of starting one",
            flush=True,
        )
        running = True
    if running:
        print(f"demo: waiting for the agent at {settings.sip.listen} to answer", flush=True)
        if not agent_answers(settings.sip.listen, timeout=AGENT_READY_S):
            raise HotlineError(
                f"no agent answered at {settings.sip.listen} within {AGENT_READY_S:.0f} s: "
                "is `hotline agent` (or `hotline run`) running with the same sip.listen?"
            )
        call_id = _call(
            settings.sip.listen,
            settings.sip.user,
            audio,
            greeting_s,
            flow,
            open_now,
            said=said,
        )
        _show(app, call_id, wait_s=30)
        return 0
    from hotline.commands.agent import build_agent

    app.ready_database()
    agent, phone = build_agent(app)
    phone.start()
    try:
        call_id = _call(
            settings.sip.listen, settings.sip.user, audio, greeting_s, flow, open_now, said=said
        )
        deadline = time.monotonic() + 60
        while agent.active_calls and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        agent.stopping.set()
        phone.stop()
    app.call_log.wait_applied(30)  # the call's rows are applied from the journal
    worker = threading.Thread(target=app.pipeline.process_call, args=(call_id,), daemon=True)
    worker.start()
    worker.join(timeout=120)
    _show(app, call_id, wait_s=5)
    return 0
