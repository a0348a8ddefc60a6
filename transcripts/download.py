"""`hotline models download`: Vosk's own downloader run in a child process, so a
network that stalls or never answers is cut off at a deadline instead of hanging.

The child prints one line `RESULT {json}` on stdout; vosk's own prints, tqdm's
progress and Kaldi's logging go around it.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from transcripts.errors import DownloadFailed

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://alphacephei.com/vosk/models/"
_MARK = "RESULT "
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def download_model(
    vosk_lang: str | None, *, name: str | None, base_url: str | None, timeout: float
) -> Path:
    """Fetch a model with vosk.Model(model_name=..., lang=...) into ~/.cache/vosk."""
    argv = [sys.executable, "-m", "transcripts.download"]
    argv += ["--stall", str(max(1.0, min(30.0, timeout / 2)))]
    if vosk_lang:
        argv += ["--lang", vosk_lang]
    if name:
        argv += ["--name", name]
    if base_url:
        argv += ["--url", base_url]
    url = base_url or DEFAULT_BASE_URL
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise DownloadFailed(f"no complete answer from {url} within {timeout:.0f} s") from None
    for line in done.stdout.splitlines():
        if line.startswith(_MARK):
            outcome: dict[str, Any] = json.loads(line[len(_MARK) :])
            if outcome["ok"]:
                return Path(outcome["path"])
            raise DownloadFailed(f"{outcome['reason']} ({url})")
    tail = (done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or ["?"])[-1]
    raise DownloadFailed(f"the downloader stopped (status {done.returncode}): {tail} ({url})")


def _reason(exc: BaseException) -> str:
    """A short human reason for a network or archive failure."""
    if isinstance(exc, SystemExit):
        return "the model list has no such language or model name"
    text = str(exc)
    if match := _ERRNO.search(text):
        return f"cannot connect: {match.group(1).strip()}"
    if "timed out" in text.lower() or "timeout" in type(exc).__name__.lower():
        return "the connection timed out"
    if "Name or service not known" in text or "resolution" in text:
        return "cannot resolve the server's name (offline?)"
    return f"{type(exc).__name__}: {text.splitlines()[0][:160] if text else 'failed'}"


def _child(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="transcripts.download")
    parser.add_argument("--lang")
    parser.add_argument("--name")
    parser.add_argument("--url")
    parser.add_argument("--stall", type=float, default=20.0)
    args = parser.parse_args(argv)

    import socket

    socket.setdefaulttimeout(args.stall)  # urlretrieve has no timeout of its own
    import vosk

    vosk.SetLogLevel(-1)
    if args.url:
        vosk.MODEL_PRE_URL = args.url.rstrip("/") + "/"
        vosk.MODEL_LIST_URL = vosk.MODEL_PRE_URL + "model-list.json"
    try:
        model = vosk.Model(model_name=args.name, lang=args.lang)
        path = model.get_model_path(args.name, args.lang)
        outcome = {"ok": True, "path": str(path)}
    except (Exception, SystemExit) as exc:  # reported to the parent as one line
        outcome = {"ok": False, "reason": _reason(exc)}
    print(_MARK + json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
