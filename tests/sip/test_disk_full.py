"""Disk full: the agent still answers, greets and closes calls when it cannot record.

`hotline agent` runs in a mount namespace of its own (`unshare -m`) in which a
small tmpfs is mounted over its recordings directory, holding two recordings
of earlier calls and a filler file that takes every free block: the disk is
full before the call comes. A SIPp caller calls and speaks.

What is kept: the call is answered after one ring and greeted, and the agent
is taking the message when the caller hangs up (a call record: answered,
ended while recording); the earlier recordings are untouched (their sha256
still matches the database) and nothing half-written is left; the operator
sees "ALARM: cannot record" in the agent's log and the admin a
recording_failed alarm for the call on the Audit page.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import select

from recorder import db
from recorder.calls import DatabaseCallLog
from recorder.models import AnsweredBy, AuditEvent, Call, Disposition, Recording
from recorder.recording_alarm import RECORDING_FAILED
from recorder.wav import WavWriter, sha256_of
from tests.sip.conftest import sipp, udp_port
from tests.sip.test_agent_calls import caller_audio, scenario
from tests.support.processes import free_port, running, wait_until

#: Mount a tmpfs over the recordings directory, put the earlier recordings in, fill it, run.
FULL_DISK_THEN_RUN = """
set -e
recordings=$1 staging=$2
shift 2
mkdir -p "$recordings"
mount -t tmpfs -o size=256k,mode=0755 hotline-full "$recordings"
cp -a "$staging"/. "$recordings"/
dd if=/dev/zero of="$recordings/filler" bs=4k 2>/dev/null || true
exec "$@"
"""
EARLIER = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)


def earlier_recordings(staging: Path, recordings: Path, url: str) -> dict[Path, str]:
    """Two recorded calls of yesterday, in the database with their sha256; {path: sha256}."""
    engine = db.make_engine(url)
    log = DatabaseCallLog(db.session_factory(engine))
    kept = {}
    for n in (1, 2):
        relative = Path("2026/11/22") / f"09300{n}-earlier-{n}.wav"
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        with WavWriter(staging / relative) as writer:
            writer.write((np.arange(8000, dtype="<i2") * n).tobytes())
        info = dataclasses.replace(writer.close(), path=recordings / relative)
        call_id, at = f"earlier-{n}", EARLIER + timedelta(minutes=n)
        log.call_started(call_id, "13800138000", "8001", at)
        log.call_answered(call_id, at, 1, AnsweredBy.AGENT, codec="PCMU")
        log.recording_started(call_id, info.path, "caller", 8000, at)
        log.recording_closed(call_id, info, at + timedelta(seconds=1))
        log.call_ended(call_id, at + timedelta(seconds=5), Disposition.ANSWERED, "BYE", "closing")
        kept[info.path] = info.sha256
    engine.dispose()
    return kept


def greeting_seconds(prompts: Path) -> float:
    """The greeting the agent synthesised at start: the longest of its prompts."""
    durations = []
    for path in prompts.glob("*.wav"):
        with wave.open(str(path)) as prompt:
            durations.append(prompt.getnframes() / prompt.getframerate())
    return max(durations)


def test_the_agent_answers_with_its_recordings_disk_full(
    short_config: Path, tmp_path: Path
) -> None:
    var, staging = tmp_path / "var", tmp_path / "staging"
    recordings = var / "recordings"
    port, rtp = udp_port(), free_port() // 10 * 10 % 40000 + 20000
    config = tmp_path / "hotline.toml"
    config.write_text(
        f'[paths]\ndata_dir = "{var}"\n'
        f'[sip]\nlisten = "127.0.0.1:{port}"\nrtp_port_low = {rtp}\nrtp_port_high = {rtp + 200}\n'
        "[ringing]\nanswer_after_rings = 1\nring_on_s = 0.5\nring_off_s = 0.5\n"
        '[agent]\nmode = "message"\nrecord_seconds = 10.0\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["HOTLINE_CONFIG_DIR"] = str(short_config)
    base = [sys.executable, "-m", "hotline", "--config", str(config)]
    subprocess.run([*base, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=60)
    url = f"sqlite:///{var / 'hotline.db'}"
    kept = earlier_recordings(staging, recordings, url)
    audio, _ = caller_audio(tmp_path, "PCMU")
    unshare = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
    argv = [*unshare, "--propagation", "private", "sh", "-c", FULL_DISK_THEN_RUN, "sh"]
    argv += [str(recordings), str(staging), *base, "agent"]
    log = tmp_path / "agent.log"
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    with running(
        argv,
        ready=lambda: "agent ready" in log.read_text(errors="replace"),
        timeout=90,
        log=log,
        env=env,
    ) as agent:
        # The agent's view of its recordings directory (its own mount namespace).
        seen = Path(f"/proc/{agent.pid}/root") / recordings.relative_to("/")
        assert os.statvfs(seen).f_bavail == 0  # full before the call
        # The caller speaks through the greeting and 1.5 s into the message, then hangs up.
        pause_ms = int((greeting_seconds(var / "prompts") + 1.5) * 1000)
        out = sipp(
            f"127.0.0.1:{port}",
            "-sf",
            str(scenario(tmp_path, audio, "PCMU", pause_ms)),
            "-s",
            "agent",
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stdout[-2000:]

        def ended() -> bool:
            with sessions() as s:
                new_call = select(Call.ended_at).where(Call.call_id.not_like("earlier-%"))
                return s.scalar(new_call) is not None

        wait_until(ended, 30, "the call record")
        for path, sha256 in kept.items():
            assert sha256_of(seen / path.relative_to(recordings)) == sha256
        on_disk = sorted(p for p in seen.rglob("*.wav") if p.stat().st_size > 0)
        assert [p.name for p in on_disk] == sorted(p.name for p in kept)  # nothing half-written
    with sessions() as s:
        call = s.scalars(select(Call).where(Call.call_id.not_like("earlier-%"))).one()
        assert (call.disposition, call.ring_count, call.ended_in, call.hangup_cause) == (
            Disposition.ANSWERED,
            1,
            "recording",  # greeted, and taking the caller's message when they hung up
            "caller BYE",
        )
        assert s.scalar(select(Recording.id).where(Recording.call_pk == call.id)) is None
        (alarm,) = s.scalars(select(AuditEvent).where(AuditEvent.action == RECORDING_FAILED))
        assert alarm.target == f"call:{call.call_id}"
        # The agent's own alarm, with the file system's reason, not the end-of-call safety net.
        assert "No space left on device" in alarm.detail["reason"]
    assert "ALARM: cannot record (disk full?)" in log.read_text(errors="replace")
    engine.dispose()
