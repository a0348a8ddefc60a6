"""Real SIP peers the call-flow tests share: baresip as a clerk's phone or as a
caller, a SIPp caller who presses keys at scripted moments, and how long the
agent's prompts last (to time a caller against them)."""

from __future__ import annotations

import re
import subprocess
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

import numpy as np

from hotline.content import load_content
from hotline.settings import CONFIG_DIR, Settings
from ivr.prompts import PromptCache
from tests.sip.conftest import HERE, Site
from tests.support.processes import require_tool, running

#: What the clerk's phone says when it answers.
CLERK_TEXT = (
    "Good morning, this is the service desk, how can I help you today? "
    "Please tell me your building and your room number. " * 3
)


def speech(path: Path, text: str) -> np.ndarray:
    """espeak-ng speech at 8 kHz 16-bit mono, written to `path`."""
    raw = subprocess.run(
        [require_tool("espeak-ng"), "-v", "en", "-s", "170", "--stdout", text],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    pcm = subprocess.run(
        [
            require_tool("sox"),
            "-t",
            "wav",
            "-",
            "-r",
            "8000",
            "-b",
            "16",
            "-c",
            "1",
            "-t",
            "wav",
            "-",
        ],
        input=raw,
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    path.write_bytes(pcm)
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)


@dataclass
class Baresip:
    said: np.ndarray
    """What it sends (8 kHz samples): the text, spoken."""
    home: Path
    proc: Popen[bytes]


@contextmanager
def baresip(
    tmp_path: Path, port: int, account: str, text: str = CLERK_TEXT, dial: str | None = None
) -> Iterator[Baresip]:
    """baresip on loopback saying `text` from a file: as a clerk's desk phone it answers
    by itself (`answermode=auto` in `account`); with `dial` it calls that URI at start-up
    and hangs up by itself when the file ends (baresip 1.0.0's aufile source)."""
    home = tmp_path / "baresip"
    home.mkdir()
    said = speech(home / "says.wav", text)
    (home / "config").write_text(
        f"sip_listen 127.0.0.1:{port}\n"
        "net_interface 127.0.0.1\n"
        f"audio_source aufile,{home / 'says.wav'}\n"
        "audio_player aubridge,nullsink\n"
        "module_path /usr/lib/baresip/modules\n"
        "module g711.so\nmodule aufile.so\nmodule aubridge.so\nmodule sndfile.so\n"
        "module account.so\nmodule menu.so\nmodule contact.so\nmodule uuid.so\n"
    )
    (home / "accounts").write_text(account + "\n")
    log = tmp_path / "baresip.log"
    # It ignores SIGTERM without its stdio module (sip-testbed.md): `running` kills it.
    argv = [require_tool("baresip"), "-f", str(home)]
    with running(
        [*argv, "-e", f"/dial {dial}"] if dial else argv,
        ready=lambda: "baresip is ready" in log.read_text(errors="replace"),
        timeout=20,
        log=log,
        cwd=home,
    ) as proc:
        yield Baresip(said, home, proc)


def flow_scenario(
    tmp_path: Path,
    audio: Path,
    speech_s: float,
    key_at: float,
    speak_at: float,
    routed: bool = False,
) -> Path:
    """A caller who presses 0 at `key_at`, speaks at `speak_at` and then hangs up.

    `routed`: through a proxy that record-routes, the caller keeps the route set of the
    agent's 200 OK and sends its ACK and BYE along it (as uac_rr.xml does)."""
    text = (
        (HERE / "scenarios" / "uac_flow.xml")
        .read_text()
        .replace("KEY_AT_MS", str(int(key_at * 1000)))
        .replace("dtmf_2833_KEY", "dtmf_2833_0")
        .replace("SPEAK_AT_MS", str(int(speak_at * 1000)))
        .replace("SPEECH_MS", str(int(speech_s * 1000) + 1000))
        .replace("AUDIO_FILE", str(audio))
    )
    bye = (HERE / "scenarios" / "uac_audio.xml").read_text()
    text = text[
        : text.index('  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_pound')
    ]
    text += bye[bye.index('  <send retrans="500">\n    <![CDATA[\n      BYE') :]
    if routed:
        text = text.replace(
            '<recv response="200" rtd="true"/>', '<recv response="200" rtd="true" rrs="true"/>'
        )
        for method in ("ACK", "BYE"):
            text = re.sub(
                rf"{method} sip:\[service\]@\[remote_ip\]:\[remote_port\] SIP/2.0\n(\s*Via: [^\n]*\n)",
                rf"{method} [next_url] SIP/2.0\n\1      [routes]\n",
                text,
            )
        assert text.count("[routes]") == 2, "uac_flow.xml or uac_audio.xml changed"
    path = tmp_path / "uac_bridge.xml"
    path.write_text(text)
    return path


def prompt_seconds(site: Site, short_config: Path, name: str) -> float:
    settings = Settings()
    content = load_content(settings, short_config)
    cache = PromptCache(
        site.root / "var" / "prompts",
        CONFIG_DIR / "prompts",
        settings.agent.tts_voice,
        settings.agent.tts_rate,
    )
    return len(cache.audio(name, content.prompt(name))) / 16000
