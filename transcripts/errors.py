"""The speech-to-text errors, translated from Vosk/Kaldi and file I/O where they enter.

HotlineError
└── TranscriptionError      anything in transcripts/ the operator sees
    ├── ModelMissing        no model directory at the configured path
    ├── ModelBroken         files missing or damaged: Vosk cannot load it
    ├── AudioFormatError    a WAV that cannot be read (names the file)
    ├── TranscriptionFailed Vosk failed while decoding, or finish() timed out
    └── DownloadFailed      `hotline models download` could not fetch a model
"""

from __future__ import annotations

from hotline.errors import HotlineError


class TranscriptionError(HotlineError):
    """An error of the speech-to-text area, one line for the operator."""


class ModelMissing(TranscriptionError):
    exit_code = 66  # EX_NOINPUT


class ModelBroken(TranscriptionError):
    exit_code = 65  # EX_DATAERR


class AudioFormatError(TranscriptionError):
    exit_code = 65


class TranscriptionFailed(TranscriptionError):
    pass


class DownloadFailed(TranscriptionError):
    exit_code = 69  # EX_UNAVAILABLE
