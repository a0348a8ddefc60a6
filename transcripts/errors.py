"""The speech-to-text errors, translated from Vosk/Kaldi and file I/O where they enter.

HotlineError                (recorder.errors) the root every package derives from
├── ConfigError             (recorder.errors) a wrong model path or rules file
├── AudioFormatError        (recorder.errors, re-exported here) a WAV that cannot be read
├── ModelFileError          (transcripts.ngram_model) a category model file is damaged
├── TrainingError           (transcripts.training) the category model cannot be trained
├── DirectoryFileError      (transcripts.directory_file) a resident directory file is unreadable
└── TranscriptionError      anything else in transcripts/ the operator sees
    ├── ModelMissing        no model directory at the configured path
    ├── ModelBroken         files missing or damaged: Vosk cannot load it
    ├── TranscriptionFailed Vosk failed while decoding, or finish() timed out
    └── DownloadFailed      `hotline models download` could not fetch a model
"""

from __future__ import annotations

from recorder.errors import AudioFormatError, ConfigError, HotlineError

__all__ = [
    "AudioFormatError",
    "ConfigError",
    "DownloadFailed",
    "HotlineError",
    "ModelBroken",
    "ModelMissing",
    "TranscriptionError",
    "TranscriptionFailed",
]


class TranscriptionError(HotlineError):
    """An error of the speech-to-text area, one line for the operator."""


class ModelMissing(TranscriptionError):
    exit_code = 66  # EX_NOINPUT


class ModelBroken(TranscriptionError):
    exit_code = 65  # EX_DATAERR


class TranscriptionFailed(TranscriptionError):
    pass


class DownloadFailed(TranscriptionError):
    exit_code = 69  # EX_UNAVAILABLE
