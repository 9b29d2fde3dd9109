"""The state of this process, in one object: :data:`STATE`.

What a process learns or builds once and keeps for the rest of the run
lives here, and nowhere else at module level: the databases the runner
handed over, the throwaway server started without a runner, the databases
it created, the schemas it built, the shared connections. :meth:`reset`
forgets all of it; the project's own tests use it between scenarios run in
one process.

The runner hands its databases over as a :class:`RunDatabases` (Django
passes ``settings_dict``; pytest-django keeps them on ``config.stash``), to
the test classes of its own process, to its ``--parallel`` workers and to
its interrupt handler.
"""

from __future__ import annotations

import contextlib
import dataclasses
import typing as t

from .settings import Settings

__all__ = ["STATE", "ProcessState", "RunDatabases"]


@dataclasses.dataclass(frozen=True)
class RunDatabases:
    """The run's test databases, as the runner made them.

    :param url: the test database of this process, with its password.
    :param clones: the ``--parallel`` workers' copies of the test database.
    :param worker_id: the number of this ``--parallel`` worker (0: none).
    """

    url: str
    clones: tuple[str, ...] = ()
    worker_id: int = 0

    def for_worker(self, worker_id: int) -> RunDatabases:
        """Return the databases as a ``--parallel`` worker sees them.

        :param worker_id: the worker's number, from 1.
        """
        clones = self.clones or (self.url,)
        return RunDatabases(clones[(worker_id - 1) % len(clones)], (), worker_id)

    def cancel_targets(self) -> list[str]:
        """Return the URLs whose queries an interrupt cancels (clones are found by name)."""
        return [self.url]


@dataclasses.dataclass
class ProcessState:
    """Everything this process keeps between test classes.

    Objects of the upper layers are held as ``Any``: this module sits at the
    bottom and imports none of them.
    """

    #: The settings the runner decided on (``None``: read them afresh).
    settings: Settings | None = None
    #: The databases the runner handed over (``None``: no runner in this process).
    databases: RunDatabases | None = None
    #: The throwaway server this process started without a runner
    #: (a :class:`~flask_dbtestcase.postgres.server.ThrowawayServer`).
    server: t.Any = None
    #: The test database this process created on that server (a ``sqlalchemy.URL``).
    database_url: t.Any = None
    #: Whether SIGTERM and the query canceller are set up for that server.
    signals_installed: bool = False
    #: The databases this process created and must drop (each a ``sqlalchemy.URL``).
    created_databases: list[t.Any] = dataclasses.field(default_factory=list)
    #: The schemas built so far, as (databases, metadata or migrations) marks.
    schemas_ready: set[tuple[t.Any, t.Any]] = dataclasses.field(default_factory=set)
    #: The apps built for the test classes, one per factory and config:
    #: (``AppKey``, ``TestApp``) pairs of :mod:`flask_dbtestcase.cases.appcache`.
    apps: list[tuple[t.Any, t.Any]] = dataclasses.field(default_factory=list)
    #: The shared (pinned) connection of each test database.
    pins: dict[tuple[str, ...], t.Any] = dataclasses.field(default_factory=dict)
    #: The ``--parallel`` suite being run: set before its workers are forked,
    #: which read their groups of tests and options from it.
    parallel: t.Any = None

    def current_settings(self) -> Settings:
        """Return the runner's settings, else the environment's and pyproject.toml's."""
        return self.settings if self.settings is not None else Settings.load()

    @contextlib.contextmanager
    def settled(self) -> t.Iterator[Settings]:
        """Read the settings once for a block: :meth:`current_settings` in it returns them.

        Without a runner each call reads the environment afresh (~20 µs); a
        test class's set-up asks four times. Under a runner they are the
        runner's, settled for the whole run, and this changes nothing.
        """
        if self.settings is not None:
            yield self.settings
            return
        self.settings = settings = Settings.load()
        try:
            yield settings
        finally:
            if self.settings is settings:
                self.settings = None

    def reset(self) -> None:
        """Forget everything (the caller has stopped or closed what it needs to)."""
        fresh = ProcessState()
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(fresh, field.name))


#: This process's state.
STATE = ProcessState()
