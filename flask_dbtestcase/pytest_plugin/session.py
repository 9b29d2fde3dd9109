"""The plugin's per-session objects, kept on pytest's config, and how errors are reported.

The session's test database is set up on first use: in this process, or, in
a pytest-xdist worker, by asking the controller for this worker's copy.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import typing as t
import warnings

import pytest

from ..errors import DBTestCaseError
from .cases import CaseManager
from .database import DatabaseOptions, set_up, tear_down

if t.TYPE_CHECKING:
    from ..databases.cancel import QueryCanceller
    from ..runner.databases import DatabaseState
    from ..state import RunDatabases

__all__ = ["SessionDatabase", "manager_of", "session_database_of", "user_errors"]


class SessionDatabase:
    """The test database of this pytest process, set up on first use.

    :param config: pytest's configuration.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.options = DatabaseOptions.from_config(config)
        workerinput = getattr(config, "workerinput", None)
        self.worker: dict[str, t.Any] | None = workerinput
        self.url: str | None = None
        self._state: DatabaseState | None = None
        self._previous: tuple[RunDatabases | None, str | None] | None = None
        self._canceller: QueryCanceller | None = None
        self._sigterm: t.Any = None
        self._lock = threading.Lock()

    @property
    def set_up(self) -> bool:
        """Whether the database was set up (and not torn down since)."""
        return self.url is not None

    def ensure(self) -> str:
        """Return the test database's URL (with its password), setting it up first if needed."""
        with self._lock:
            if self.url is None:
                if self.worker is not None and self.worker.get("flask_dbtestcase_broker"):
                    self.url = self._from_broker(self.worker)
                else:
                    _warn_ignored_settings()
                    self._install_signal_handling()
                    self._state = set_up(self.options)
                    self.url = self._state.url
                assert self.url is not None
            return self.url

    def _from_broker(self, workerinput: dict[str, t.Any]) -> str:
        from ..settings import export_database_url
        from ..state import STATE, RunDatabases
        from .broker import request_database

        worker = str(workerinput.get("workerid", "gw0"))
        url = request_database(
            workerinput["flask_dbtestcase_broker"],
            bytes.fromhex(workerinput["flask_dbtestcase_authkey"]),
            worker,
        )
        self._previous = (STATE.databases, STATE.current_settings().database_url)
        number = int(worker[2:]) + 1 if worker[2:].isdigit() else 1
        STATE.databases = RunDatabases(url, (), number)
        export_database_url(url)
        return url

    def _install_signal_handling(self) -> None:
        """SIGTERM stops the run as Ctrl-C does; either cancels a test blocked in a query."""
        if threading.current_thread() is not threading.main_thread():
            return
        from ..databases.cancel import QueryCanceller, sigterm_to_keyboard_interrupt
        from ..runner.databases import run_cancel_targets

        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            self._sigterm = signal.signal(signal.SIGTERM, sigterm_to_keyboard_interrupt)
        canceller = QueryCanceller(run_cancel_targets)
        if canceller.install():
            self._canceller = canceller

    def tear_down(self) -> None:
        """Close the test connections, drop what was created, stop the server (safe twice)."""
        with self._lock:
            if self.url is None:
                return
            self.url = None
            try:
                if self._state is not None:
                    state, self._state = self._state, None
                    tear_down(state, self.options)
                else:
                    self._give_back_worker_state()
            finally:
                self._uninstall_signal_handling()

    def _give_back_worker_state(self) -> None:
        from ..isolation.engines import close_pinned_connections
        from ..settings import export_database_url
        from ..state import STATE

        try:
            close_pinned_connections()  # before the controller drops this worker's copy
        finally:
            if self._previous is not None:
                STATE.databases, previous_url = self._previous
                export_database_url(previous_url)
                self._previous = None

    def _uninstall_signal_handling(self) -> None:
        if self._canceller is not None:
            self._canceller.uninstall()
            self._canceller = None
        if self._sigterm is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._sigterm)
            self._sigterm = None


_MANAGER = pytest.StashKey[CaseManager]()
_DATABASE = pytest.StashKey[SessionDatabase]()


def _warn_ignored_settings() -> None:
    """Warn once, as the runner does, about settings this run ignores (say ``keepdb``)."""
    from ..settings import ignored_settings
    from ..state import STATE

    # Under pytest, TEST_DATABASE_URL is read (as --database-url); RUNNER is not.
    message = ignored_settings(STATE.current_settings(), under_runner=True)
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
