"""The services the desk reads at request time, as handed in by the composition root."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from admin.settings import DeskSettings
from transcripts.rules import DeskContent


class Desk:
    """Kept in `web.extensions["hotline"]`: the settings, the sessions, the content."""

    def __init__(
        self,
        settings: DeskSettings,
        sessions: sessionmaker[Session],
        content: Callable[[], DeskContent],
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self._content = content

    @property
    def content(self) -> DeskContent:
        return self._content()
