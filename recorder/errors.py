"""The errors a user can see, one line each: the root every package derives from, and
recorder's own.

    HotlineError                anything the CLI reports as "hotline: <message>"
    ├── ConfigError             a wrong setting or data file, naming the key and its source
    └── RecorderError           the call log, its recordings and its jobs
        ├── DatabaseError       the database cannot be used
        │   ├── DatabaseUnreachable
        │   └── SchemaOutdated  the database is at an older schema: run `hotline db upgrade`
        ├── CallNotReady        (here) the call is unknown or still in progress: try later
        ├── AudioFormatError    (here) a WAV that cannot be read (names the file)
        ├── RecordingError      (recorder.wav) a recording cannot be written
        ├── IngestError         (recorder.ingest) a watched-folder recording is refused
        ├── DispatchError       (recorder.dispatch)
        ├── StaffError          (recorder.staff)
        └── RecordIntegrityError (recorder.reception_log)

The roots of the other packages (ivr.errors.IvrError, transcripts.errors.TranscriptionError,
admin) derive from HotlineError too; hotline.errors draws the whole tree.
"""

from __future__ import annotations


class HotlineError(Exception):
    """An error with a message fit for the operator; exit status `exit_code`."""

    exit_code = 1


class ConfigError(HotlineError):
    exit_code = 78  # EX_CONFIG


class RecorderError(HotlineError):
    """An error of the call log: storage, recordings, jobs."""


class DatabaseError(RecorderError):
    exit_code = 69  # EX_UNAVAILABLE


class DatabaseUnreachable(DatabaseError):
    pass


class SchemaOutdated(DatabaseError):
    pass


class CallNotReady(RecorderError):
    """The call is unknown or still in progress: try again later."""


class AudioFormatError(RecorderError):
    """A WAV file that cannot be read (recorder.audio); the message names the file."""

    exit_code = 65  # EX_DATAERR
