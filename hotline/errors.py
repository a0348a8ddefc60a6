"""The errors a user can see, one line each, composed from the packages' own trees.

    HotlineError                    anything the CLI reports as "hotline: <message>"
    ├── ConfigError                 a wrong setting, naming the key and its source
    ├── NotReady                    a subcommand whose issue is not done yet
    ├── RecorderError               recorder.errors: storage, recordings, jobs
    │   ├── DatabaseError
    │   │   ├── DatabaseUnreachable
    │   │   └── SchemaOutdated      the database is at an older schema: run `hotline db upgrade`
    │   └── CallNotReady, RecordingError, IngestError, DispatchError, StaffError, ...
    ├── IvrError                    ivr.errors: SipError, PromptError
    └── TranscriptionError          transcripts.errors: ModelMissing, ModelBroken,
                                    AudioFormatError, ModelFileError, TrainingError, ...

The root lives at the ground (recorder.errors) so that every package can derive
from it; each package translates library errors where they enter.
"""

from __future__ import annotations

from ivr.errors import IvrError
from recorder.errors import (
    CallNotReady,
    ConfigError,
    DatabaseError,
    DatabaseUnreachable,
    HotlineError,
    RecorderError,
    SchemaOutdated,
)
from transcripts.errors import TranscriptionError

__all__ = [
    "CallNotReady",
    "ConfigError",
    "DatabaseError",
    "DatabaseUnreachable",
    "HotlineError",
    "IvrError",
    "NotReady",
    "RecorderError",
    "SchemaOutdated",
    "TranscriptionError",
]


class NotReady(HotlineError):
    exit_code = 3
