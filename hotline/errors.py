"""The errors a user can see, one line each.

    HotlineError            anything the CLI reports as "hotline: <message>"
    ├── ConfigError         a wrong setting, naming the key and its source
    ├── DatabaseError       the database cannot be used
    │   ├── DatabaseUnreachable
    │   └── SchemaOutdated  the database is at an older schema: run `hotline db upgrade`
    └── NotReady            a subcommand whose issue is not done yet

Each area package (ivr, recorder, transcripts, admin) derives its own errors
from HotlineError, translating library errors where they enter.
"""

from __future__ import annotations


class HotlineError(Exception):
    """An error with a message fit for the operator; exit status `exit_code`."""

    exit_code = 1


class ConfigError(HotlineError):
    exit_code = 78  # EX_CONFIG


class DatabaseError(HotlineError):
    exit_code = 69  # EX_UNAVAILABLE


class DatabaseUnreachable(DatabaseError):
    pass


class SchemaOutdated(DatabaseError):
    pass


class NotReady(HotlineError):
    exit_code = 3
