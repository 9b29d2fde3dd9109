"""The plugin's per-session objects, kept on pytest's config, and how errors are reported.

The session's test database is set up on first use: in this process, or, in
a pytest-xdist worker, by asking the controller for this worker's copy.
"""

from __future__ import annotations

import contextlib
import threading
import typing as t
import warnings

import pytest

from ..errors import DBTestCaseError
from ..settings import Settings, ignored_settings
from ..state import Run, enter_run, leave_run
from .casemanager import CaseManager
from .database import DatabaseOptions, set_up, tear_down
from .projectsettings import project_directory, put_on_path, read_settings, settings_given

if t.TYPE_CHECKING:
    from ..databases.earlystart import EarlyServer
    from ..databases.lifecycle import TestDatabases

__all__ = [
    "SessionDatabase",
    "manager_of",
    "session_database_of",
    "settings_of",
    "user_errors",
]


class SessionDatabase:
    """The test database of this pytest process, set up on first use.

    :param config: pytest's configuration.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.options = DatabaseOptions.from_config(config)
        self.settings = settings_of(config)
        self.project = project_directory(config, self.settings)
        workerinput = getattr(config, "workerinput", None)
        self.worker: dict[str, t.Any] | None = workerinput
        self.url: str | None = None
        self._run: Run | None = None
        self._early: EarlyServer | None = None
        self._lock = threading.Lock()
        option = config.option
        #: Whether this process would start a throwaway server itself, and
        #: the project says it uses the package: the early start's condition.
        self._may_start_early = (
            self.worker is None
            and not getattr(option, "numprocesses", None)  # not an xdist controller
            and getattr(option, "dist", "no") == "no"
            and not getattr(option, "collectonly", False)
            and not self.options.database_url
            and not self.settings.database_url
            and not self.settings.test_database_url
            and bool(self.settings.pyproject_path or settings_given(config))
        )

    @property
    def run(self) -> Run:
        """The session's run (its database set up first if needed)."""
        self.ensure()
        assert self._run is not None
        return self._run

    @property
    def set_up(self) -> bool:
        """Whether the database was set up (and not torn down since)."""
        return self.url is not None

    def start_early(self) -> None:
        """Start the throwaway server in the background while the test modules load.

        Only in a project that names the package in its settings and would
        start a server itself (not under pytest-xdist, not ``--collect-only``,
        no existing server given): :meth:`ensure` takes it, and
        :meth:`discard_early` stops it when no collected test needs it. Any
        error is left for :meth:`ensure` to report.
        """
        if not self._may_start_early or self._early is not None or self._run is not None:
            return
        from ..databases.earlystart import start_early

        try:
            config = self.settings.databases_config()
        except DBTestCaseError:  # ensure() reports it, if a test needs the database
            return
        self._early = start_early(config, self.options.reuse_db, self.options.project)

    def discard_early(self) -> None:
        """Stop the server :meth:`start_early` started, unless :meth:`ensure` took it."""
        early, self._early = self._early, None
        if early is not None:
            early.discard()

    def ensure(self) -> str:
        """Return the test database's URL (with its password), setting it up first if needed."""
        with self._lock:
            if self._run is None:
                put_on_path(self.project)  # the app factory's module
                if self.worker is not None and self.worker.get("flask_dbtestcase_broker"):
                    self.discard_early()
                    databases = self._from_broker(self.worker)
                else:
                    _warn_ignored_settings(self.settings)
                    early, self._early = self._early, None
                    databases = set_up(self.options, self.settings, early=early)
                self._run = Run(self.settings, databases)
                enter_run(self._run)
                self.url = databases.url.render_as_string(hide_password=False)
            assert self.url is not None
            return self.url

    def _from_broker(self, workerinput: dict[str, t.Any]) -> TestDatabases:
        from ..databases.lifecycle import open_test_databases
        from ..databases.urls import parse_test_url
        from .broker import request_database

        worker = str(workerinput.get("workerid", "gw0"))
        url = request_database(
            workerinput["flask_dbtestcase_broker"],
            bytes.fromhex(workerinput["flask_dbtestcase_authkey"]),
            worker,
        )
        config = self.settings.databases_config()
        number = int(worker[2:]) + 1 if worker[2:].isdigit() else 1
        return open_test_databases(
            config, given=parse_test_url(url, config.driver), worker_id=number
        )

    def tear_down(self) -> None:
        """Close the test connections, drop what was created, stop the server (safe twice)."""
        with self._lock:
            self.discard_early()
            run, self._run = self._run, None
            self.url = None
            if run is not None:
                leave_run(run)
                tear_down(run.databases, self.options)


_MANAGER = pytest.StashKey[CaseManager]()
_DATABASE = pytest.StashKey[SessionDatabase]()
_SETTINGS = pytest.StashKey[Settings]()


def settings_of(config: pytest.Config) -> Settings:
    """Return the session's settings, read once (on first use), from pytest's rootdir.

    :param config: pytest's configuration.
    """
    if _SETTINGS not in config.stash:
        config.stash[_SETTINGS] = read_settings(config)
    return config.stash[_SETTINGS]


def _warn_ignored_settings(settings: Settings) -> None:
    """Warn once, as the runner does, about settings this run ignores (say ``keepdb``)."""
    # Under pytest, TEST_DATABASE_URL is read (as --database-url); RUNNER is not.
    message = ignored_settings(settings, under_runner=True)
    if message:
        warnings.warn(
            f"{message} Under pytest the runner's options are the plugin's: --keepdb is "
            "--reuse-db, and --database-url is --database-url.",
            UserWarning,
            stacklevel=2,
        )


def manager_of(config: pytest.Config) -> CaseManager:
    """Return the session's case manager (made on first use).

    :param config: pytest's configuration.
    """
    if _MANAGER not in config.stash:
        config.stash[_MANAGER] = CaseManager()
    return config.stash[_MANAGER]


def session_database_of(config: pytest.Config) -> SessionDatabase:
    """Return the session's test database (not set up until :meth:`~.SessionDatabase.ensure`).

    :param config: pytest's configuration.
    """
    if _DATABASE not in config.stash:
        config.stash[_DATABASE] = SessionDatabase(config)
    return config.stash[_DATABASE]


@contextlib.contextmanager
def user_errors() -> t.Iterator[None]:
    """Report the package's own errors as their message alone, without a traceback."""
    try:
        yield
    except DBTestCaseError as exc:
        failure = pytest.fail.Exception(str(exc), pytrace=False)
    else:
        return
    raise failure from None  # the message alone, not chained to the error it replaces
