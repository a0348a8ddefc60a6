"""The composition root: settings read once, services built here and passed down."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from hotline.settings import LoadedSettings, Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from hotline.content import Content
    from recorder.journal import JournaledCallLog
    from recorder.queue import CallQueue
    from recorder.recovery import Recovered
    from transcripts.pipeline import Pipeline


def cli_overrides(args: argparse.Namespace) -> dict[str, dict[str, tuple[Any, str]]]:
    """Command-line flags as the top settings layer: {section: {key: (value, flag)}}."""
    overrides: dict[str, dict[str, tuple[Any, str]]] = {}

    def put(section: str, key: str, flag: str) -> None:
        value = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        if value is not None and value != []:
            overrides.setdefault(section, {})[key] = (value, flag)

    put("paths", "data_dir", "--data-dir")
    put("database", "url", "--database-url")
    # Subcommand flags that map onto settings (agent: issue 4).
    put("sip", "listen", "--sip")
    put("sip", "registrar", "--registrar")
    put("sip", "user", "--user")
    put("sip", "password", "--password")
    put("sip", "trusted", "--trust")
    put("ringing", "answer_after_rings", "--answer-after-rings")
    put("admin", "listen", "--listen")
    put("transcription", "model_path", "--model")
    return overrides


@dataclass
class App:
    loaded: LoadedSettings
    _extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> App:
        return cls(load_settings(args.config, cli_overrides(args)))

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    @cached_property
    def content(self) -> Content:
        from hotline.content import load_content

        return load_content(self.settings)

    @cached_property
    def engine(self) -> Engine:
        from recorder.db import make_engine

        return make_engine(self.settings.database_url, echo=self.settings.database.echo)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        from recorder.db import session_factory

        return session_factory(self.engine)

    @cached_property
    def call_queue(self) -> CallQueue:
        """The pipeline's job queue (huey), with its tasks registered."""
        from recorder.queue import CallQueue, make_huey

        return CallQueue(make_huey(self.settings), self.settings, lambda: self.pipeline)

    @cached_property
    def pipeline(self) -> Pipeline:
        from transcripts.learned import LearnedCategories
        from transcripts.pipeline import Pipeline

        after_hours = None
        if self.settings.agent.mode == "flow":  # only the call flow has an after-hours script
            from ivr.schedule import Schedule, is_open

            schedule = Schedule.from_settings(self.settings.organization)
            after_hours = lambda at: not is_open(schedule, at)  # noqa: E731
        return Pipeline(
            self.ready_database(),
            self.content,
            self.settings,
            learned=LearnedCategories.load(
                self.settings, lang="en" if self.settings.transcription.language == "en" else "zh"
            ),
            after_hours=after_hours,
        )

    @cached_property
    def call_log(self) -> JournaledCallLog:
        """The agent's call log: each event fsync'ed to data_dir/journal, then applied to the
        database in order by one thread (docs/journal.md). on_ended enqueues the pipeline
        once the call's final row is committed. Started by `recover()`, stopped by `close()`."""
        from recorder.calls import DatabaseCallLog
        from recorder.journal import JournaledCallLog

        name = self.settings.agent.name
        database = DatabaseCallLog(
            self.ready_database(),
            on_ended=self.call_queue.enqueue,
            data_dir=self.settings.paths.data_dir,
            agent=name,
        )
        journal = self.settings.paths.data_dir / "journal"
        return JournaledCallLog(database, journal / name if name else journal)

    def recover(self) -> Recovered:
        """Start-up recovery for the agent: the journal's events first, then partial recordings."""
        from recorder.recovery import replay_then_recover

        return replay_then_recover(
            self.ready_database(),
            self.call_log,
            self.call_queue.enqueue,
            data_dir=self.settings.paths.data_dir,
            agent=self.settings.agent.name,
        )

    def close(self) -> None:
        """Stop what was started here; the journal applies what it can first."""
        if "call_log" in self.__dict__:
            self.call_log.close()

    def ready_database(self) -> sessionmaker[Session]:
        """Sessions on a database at the code's schema, or a one-line error."""
        from recorder.db import check_schema

        check_schema(self.engine)
        return self.sessions
