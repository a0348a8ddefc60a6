"""Paths kept in the database, relative to the data directory.

A recording's row holds ``recordings/2026/12/07/081500-<call>-<rand>.wav``,
relative to ``paths.data_dir``, never the path as some process's working
folder saw it: the agent, the workers and the web desk may start in
different folders or on different machines sharing the data directory, and
a site may move the whole data directory. Every reader resolves the stored
text against its own data directory with `resolve`, once, here.

A path outside the data directory (a site that points a recording elsewhere
by hand) is kept absolute, as it is.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

#: The part of an older row that names the file under the data directory:
#: recordings/YYYY/MM/DD/<file>, whatever folder the row was written from.
_UNDER_RECORDINGS = re.compile(
    r"(?:^|[\\/])(recordings[\\/]\d{4}[\\/]\d{2}[\\/]\d{2}[\\/][^\\/]+)$"
)


def to_stored(data_dir: Path, path: Path) -> str:
    """What the database keeps for `path`: relative to `data_dir` (POSIX
    separators) when it lies inside it, else the absolute path."""
    absolute = Path(path).absolute()
    try:
        return PurePosixPath(absolute.relative_to(Path(data_dir).absolute())).as_posix()
    except ValueError:
        return str(absolute)


def resolve(data_dir: Path, stored: str) -> Path:
    """The file a stored path names, for a process whose data directory is `data_dir`."""
    path = Path(stored)
    if path.is_absolute():
        return path
    return Path(data_dir).absolute() / path


def migrated(stored: str) -> str | None:
    """The data-directory-relative form of a row written before paths were
    stored that way (``var/recordings/…`` relative to the agent's working
    folder, or an absolute path), or None when it has no recognisable form
    (kept as it is)."""
    found = _UNDER_RECORDINGS.search(stored)
    if found is None:
        return None
    return found.group(1).replace("\\", "/")
