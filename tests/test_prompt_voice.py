"""What the caller hears is Mandarin: every prompt of every shipped script goes
through the exact text step and voice the agent uses (PromptCache.said with
agent.tts_voice), and espeak-ng's own phoneme dump of it must hold no syllable read
by another language's rules and one Mandarin syllable per character said.

Debian 12's espeak-ng 1.51 reads Chinese given to its `cmn` voice as English
("nin two hao three", docs/voice.md); these tests run the installed espeak-ng
(scripts/install-system-deps) and never skip.
"""

from __future__ import annotations

import logging
import re
import subprocess
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

from hotline.content import Content, load_content
from hotline.settings import CONFIG_DIR, ContentSettings, Settings
from ivr.flow_config import load_flow
from ivr.prompts import PromptCache, PromptError, foreign, phonemes, syllables
from ivr.speech_text import say_numbers
from tests.support.processes import require_tool

SCRIPTS = sorted((CONFIG_DIR / "scripts").glob("*.toml"))
#: A unit as a clerk's whisper names it (building, unit, room).
UNIT = "5号楼1单元1201室"


@pytest.fixture(scope="module", autouse=True)
def _espeak_ng() -> None:
    require_tool("espeak-ng")


def _settings(script: Path) -> Settings:
    return Settings(content=ContentSettings(script=f"scripts/{script.name}"))


def _rendered(settings: Settings, content: Content) -> list[tuple[str, str]]:
    """Every text the agent can play, filled in as at a call: the default organisation,
    job number, hours and reply time; whispers with each category and the defaults."""
    flow = load_flow(settings, content)
    labels = [c.label_for(content.language) for c in content.categories.category]
    labels += [flow.person.whisper_default, flow.on_call.whisper_default]
    texts: list[tuple[str, str]] = []
    for name, template in content.script.prompts.items():
        if "{category}" in template:
            texts += [(f"prompts.{name} ({label})", content.prompt(name, category=label, unit=UNIT))
                      for label in labels]  # fmt: skip
        else:
            texts.append((f"prompts.{name}", content.prompt(name)))
    texts += [(f"closing.{name}", content.closing(name)) for name in content.script.closing]
    return texts


def _characters(text: str) -> int:
    return len(re.findall(r"[\u3400-\u9fff]", say_numbers(text)))


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_every_prompt_is_read_as_mandarin(script: Path, tmp_path: Path) -> None:
    settings = _settings(script)
    content = load_content(settings)
    voice = settings.agent.tts_voice
    cache = PromptCache(tmp_path, tmp_path / "site", voice, settings.agent.tts_rate)
    texts = _rendered(settings, content)
    assert len(texts) >= 18 + 2 * 9  # every prompt, the whispers once per category
    problems = []
    for name, text in texts:
        said = cache.said(text)
        dump = phonemes(voice, said)
        switched = foreign(dump)
        if switched:
            problems.append(f"{name}: {text!r} is read as another language: {switched}")
        elif syllables(dump) != _characters(text):
            # A digit or letter left over is spelled out; a character dropped is not heard.
            problems.append(
                f"{name}: {text!r} has {_characters(text)} characters said but espeak-ng reads "
                f"{syllables(dump)} syllables: {' '.join(dump.split())}"
            )
    assert not problems, "\n".join(problems)


def test_the_greeting_is_heard_as_expected(tmp_path: Path) -> None:
    """The 报号 and the opening hours as a caller hears them, in espeak-ng's phonemes."""
    settings = Settings()
    content = load_content(settings)
    cache = PromptCache(tmp_path, tmp_path / "site", settings.agent.tts_voice, 200)
    said = cache.said(content.prompt("greeting"))
    assert "ba1 ling2 ling2 yi1 hao4" in said  # 八零零一号, not 八千零一
    dump = " ".join(phonemes(settings.agent.tts_voice, said).split())
    # 您好: nin2 hao3 with its tones (35, 214), not "(en)nI55nt'u:55" ("nin two").
    assert dump.startswith("n'i35n_| X'Au214_|"), dump
    hours = cache.said(content.prompt("after_hours"))
    assert "zao3 shang4 ba1 dian3 zhi4 wan3 shang4 liu4 dian3" in hours  # 早上八点至晚上六点


def _seconds_and_voiced(pcm: bytes) -> tuple[float, float]:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)  # 20 ms at 8 kHz
    loud = np.sqrt((frames**2).mean(axis=1)) > 300  # about -40 dBFS
    return len(samples) / 8000, float(loud.mean())


def test_the_synthesised_greeting_is_speech_of_a_plausible_length(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Silent, empty or spelled-out output fails: about a quarter second a syllable.
    Synthesised through pyttsx3 (the design card's engine), not the espeak-ng fallback."""
    caplog.set_level(logging.INFO, logger="ivr.prompts")
    settings = Settings()
    content = load_content(settings)
    text = content.prompt("greeting")
    cache = PromptCache(
        tmp_path / "cache", tmp_path / "site", settings.agent.tts_voice, settings.agent.tts_rate
    )
    seconds, voiced = _seconds_and_voiced(cache.audio("greeting", text))
    per_syllable = seconds / _characters(text)
    assert 0.15 <= per_syllable <= 0.4, (seconds, per_syllable)
    assert voiced > 0.6, voiced  # sound, with the pauses of the commas
    assert len(list((tmp_path / "cache").glob("*.wav"))) == 1  # kept for the next start
    assert "synthesised prompt" in caplog.text and "pyttsx3" not in caplog.text, caplog.text


def _tone(path: Path, rate: int, seconds: float) -> None:
    t = np.arange(int(rate * seconds)) / rate
    wave_ = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.repeat(wave_, 2).tobytes())


def test_a_recorded_prompt_wins_over_synthesis(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _tone(site / "greeting.wav", 16000, 1.0)  # the site's own recording, 16 kHz stereo
    cache = PromptCache(tmp_path / "cache", site, "cmn-latn-pinyin", 200)
    pcm = cache.audio("greeting", "您好，幸福家园物业服务中心，8001号话务员为您服务。")
    seconds, voiced = _seconds_and_voiced(pcm)
    assert abs(seconds - 1.0) < 0.01 and voiced == 1.0  # the tone, resampled to 8 kHz
    assert not (tmp_path / "cache").exists()  # nothing synthesised


def test_calls_placed_at_once_asking_for_one_text_get_it_synthesised_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two follow-up surveys of one unit placed side by side ask for the same intro at
    the same moment (found end to end: each removed the other's temporary file and the
    call failed). What is kept: every caller gets the same audio, one synthesis, and no
    temporary file is left in the cache."""
    cache = PromptCache(tmp_path / "cache", tmp_path / "site", "cmn-latn-pinyin", 200)
    text = "您好，幸福家园，8001号，回访3号楼1201。"
    start = threading.Barrier(4)
    got: list[bytes] = []

    def ask() -> None:
        start.wait(10)
        got.append(cache.once("survey_intro", text))

    caplog.set_level(logging.INFO, logger="ivr.prompts")
    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(got) == 4 and got[0] and all(audio == got[0] for audio in got)
    assert len([r for r in caplog.records if "synthesised prompt" in r.getMessage()]) == 1
    assert [p.suffix for p in (tmp_path / "cache").iterdir()] == [".wav"]


def test_a_changed_reading_is_synthesised_anew(tmp_path: Path) -> None:
    """The cache is keyed by what the voice is given: a WAV made before a reading was
    corrected (人为 read ren2 wei2) is not played again; an unchanged text is reused."""
    text = load_content(Settings()).closing("repair")  # …派人为您维修…
    empty = tmp_path / "none.toml"
    empty.write_text("[readings]\n", encoding="utf-8")
    cache_dir = tmp_path / "cache"
    before = PromptCache(cache_dir, tmp_path / "site", "cmn-latn-pinyin", 200, readings=empty)
    assert "ren2 wei2 nin2" in before.said(text)
    before.audio("closing.repair", text)
    after = PromptCache(cache_dir, tmp_path / "site", "cmn-latn-pinyin", 200)
    assert "ren2 wei4 nin2" in after.said(text)
    after.audio("closing.repair", text)
    PromptCache(cache_dir, tmp_path / "site", "cmn-latn-pinyin", 200).audio("closing.repair", text)
    assert len(list(cache_dir.glob("*.wav"))) == 2


def test_a_voice_that_reads_chinese_as_english_is_refused(tmp_path: Path) -> None:
    version = subprocess.run(
        [require_tool("espeak-ng"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    cache = PromptCache(tmp_path / "cache", tmp_path / "site", "cmn", 200)
    if "1.51" not in version:  # a later espeak-ng reads characters with `cmn` itself
        assert not foreign(phonemes("cmn", cache.said("您好")))
        return
    with pytest.raises(PromptError, match=r"voice 'cmn' does not read Mandarin.*cmn-latn-pinyin"):
        cache.audio("greeting", "您好，幸福家园物业服务中心。")
    assert not list((tmp_path / "cache").glob("*.wav"))  # nothing cached to play later


def test_prepared_prompts_are_the_ones_synthesised_one_by_one(tmp_path: Path) -> None:
    """The agent's start-up synthesises every missing prompt at once, one child per core;
    the caller hears the same audio as from one-by-one synthesis, and a second start (or a
    second agent sharing paths.prompt_cache_dir) synthesises nothing."""
    content = load_content(Settings())
    texts = [
        ("greeting", content.prompt("greeting")),
        ("menu", content.prompt("menu")),
        ("closing.repair", content.closing("repair")),
    ]
    site = tmp_path / "site"
    at_once = PromptCache(tmp_path / "shared", site, "cmn-latn-pinyin", 200)
    assert at_once.prepare([*texts, texts[0]]) == 3  # a repeated prompt is made once
    assert PromptCache(tmp_path / "shared", site, "cmn-latn-pinyin", 200).prepare(texts) == 0
    one_by_one = PromptCache(tmp_path / "alone", site, "cmn-latn-pinyin", 200)
    for name, text in texts:
        assert at_once.audio(name, text) == one_by_one.audio(name, text), name
