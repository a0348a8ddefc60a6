"""hotline models list | verify [PATH] | download LANG"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from hotline.app import App
from hotline.errors import ConfigError

READY = True
NAME = "models"
HELP = "list, verify or download Vosk speech models"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["list", "verify", "download"])
    parser.add_argument(
        "target",
        nargs="?",
        metavar="PATH|LANG",
        help="verify: a model directory; download: zh, en, ko",
    )
    parser.add_argument(
        "--name", help="download: an exact Vosk model name instead of LANG's small one"
    )
    parser.add_argument(
        "--url", metavar="BASE", help="download: a mirror of https://alphacephei.com/vosk/models/"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        metavar="S",
        help="download: give up after S seconds",
    )


def run(args: argparse.Namespace, app: App) -> int:
    if args.action == "list":
        return _list(app)
    if args.action == "verify":
        return _verify(app, args.target)
    return _download(app, args)


def _describe(path: Path) -> str:
    from transcripts.model_dir import directory_size, guess_language, is_usable, model_sample_rate

    state = "usable" if is_usable(path) else "INCOMPLETE"
    language = guess_language(path) or "?"
    size_mb = directory_size(path) / 1e6 if path.is_dir() else 0.0
    return f"{language:<4} {model_sample_rate(path):>6} Hz {size_mb:>7.0f} MB  {state:<10} {path}"


def _list(app: App) -> int:
    from transcripts.model_dir import candidate_models, resolve_model

    configured = resolve_model(app.settings)
    if configured is None:
        print(
            "configured: none (calls are recorded; transcription waits for transcription.model_path)"
        )
    elif not configured.is_dir():
        print(f"configured: {configured} (MISSING: no such directory)")
    else:
        print(f"configured: {_describe(configured)}")
    found = list(candidate_models(app.settings.paths.data_dir))
    print(f"found: {len(found)}")
    for where, path in found:
        print(f"  {where:<22} {_describe(path)}")
    from transcripts.retraining import describe

    for line in describe(app.settings):
        print(line)
    return 0


def _verify(app: App, target: str | None) -> int:
    from transcripts.engine import SpeechEngine
    from transcripts.errors import ModelBroken
    from transcripts.model_dir import check_files, guess_language, resolve_model

    path = Path(target).expanduser() if target else resolve_model(app.settings)
    if path is None:
        raise ConfigError("no model to verify: give PATH or set transcription.model_path")
    check_files(path)
    print(f"files: ok ({path})")
    _verify_fingerprints(app, path)
    started = time.monotonic()
    language = guess_language(path) or app.settings.transcription.language
    engine = SpeechEngine.load(path, language)
    print(f"load: ok in {time.monotonic() - started:.1f} s ({engine.sample_rate} Hz, {language})")
    result = engine.self_test()
    if result.duration_s <= 0:
        raise ModelBroken(f"self-test of {path} decoded no audio")
    print(
        f"self-test: ok, {result.duration_s:.1f} s of synthetic 8 kHz audio decoded "
        f"at {engine.sample_rate} Hz ({len(result.words)} words)"
    )
    print(f"model {path} verified")
    return 0


def _verify_fingerprints(app: App, path: Path) -> None:
    from hotline.settings import CONFIG_DIR
    from transcripts.errors import ModelBroken
    from transcripts.model_dir import check_fingerprints, load_catalogue, model_name

    name = model_name(path.resolve())
    known = load_catalogue(CONFIG_DIR).get("models", {}).get(name)
    if known is None:
        print(f"fingerprints: none published for {name}; skipped")
        return
    checks = check_fingerprints(path, known["files"])
    bad = [f"{check.name} ({check.detail})" for check in checks if not check.ok]
    if bad:
        raise ModelBroken(
            f"{path} is not an intact {name}: "
            f"{len(bad)} of {len(checks)} files differ: {'; '.join(bad)}"
        )
    print(f"fingerprints: ok, {len(checks)} files match the published {name}")


def _download(app: App, args: argparse.Namespace) -> int:
    from hotline.settings import CONFIG_DIR
    from transcripts.download import DEFAULT_BASE_URL, download_model
    from transcripts.errors import DownloadFailed
    from transcripts.model_dir import load_catalogue

    if not args.target and not args.name:
        raise ConfigError("download needs LANG (zh, en, ko) or --name MODEL")
    catalogue = load_catalogue(CONFIG_DIR)
    languages = catalogue.get("download", {}).get("languages", {})
    vosk_lang = languages.get(args.target, args.target) if args.target else None
    try:
        path = download_model(vosk_lang, name=args.name, base_url=args.url, timeout=args.timeout)
    except DownloadFailed as exc:
        wanted = (
            args.name or _model_for(catalogue, args.target) or f"vosk-model-small-{vosk_lang}-*"
        )
        raise DownloadFailed(
            f"download failed: {exc}. Install a model by hand: unpack {wanted}.zip "
            f"(from {args.url or DEFAULT_BASE_URL}) into DIR, set transcription.model_path "
            f'= "DIR" in hotline.toml, then run `hotline models verify DIR`'
        ) from None
    print(f"downloaded: {path}")
    print(f'set transcription.model_path = "{path}" and run `hotline models verify {path}`')
    return 0


def _model_for(catalogue: dict[str, dict[str, dict[str, str]]], language: str | None) -> str | None:
    """The catalogue's model for a language (zh -> vosk-model-small-cn-0.22)."""
    for name, entry in catalogue.get("models", {}).items():
        if entry.get("language") == language:
            return name
    return None
