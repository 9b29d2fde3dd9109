"""The test database of this process: the runner's, or a throwaway one of its own.

Under the runner, the test database is the one it handed over
(:attr:`~flask_dbtestcase.state.ProcessState.databases`), or, in a process
the runner's tests started, :data:`~flask_dbtestcase.settings.DATABASE_URL_ENV`.
Without a runner (``python -m unittest``, pytest), the first test class
starts one throwaway server for the process; it is stopped at exit. SIGTERM
then stops the run like Ctrl-C does (a ``KeyboardInterrupt``, so the server
is stopped at exit), and either stops a test blocked in a query
(:mod:`flask_dbtestcase.databases.cancel`).
"""

from __future__ import annotations

import atexit
import signal
import sys
import threading
import typing as t
import warnings

import sqlalchemy as sa

from ..databases.cancel import QueryCanceller, sigterm_to_keyboard_interrupt
from ..databases.creation import create_test_database
from ..databases.drivers import current_driver
from ..databases.urls import make_url
from ..settings import THROWAWAY_DATABASE, ignored_settings
from ..state import STATE

if t.TYPE_CHECKING:  # imported where a server is started: it loads testing.postgresql
    from ..postgres.server import ThrowawayServer

__all__ = ["current_database_url", "install_signal_handling", "process_server"]

_lock = threading.Lock()
_server_lock = threading.Lock()


def current_database_url() -> sa.URL:
    """Return the run's test database: the runner's, or this process's throwaway one.

    A throwaway server that died is replaced, with a new test database.
    """
    if STATE.databases is not None:
        return make_url(STATE.databases.url)
    given = STATE.current_settings().database_url
    if given:
        return make_url(given)
    with _lock:
        server = process_server()
        if STATE.database_url is None:
            url = make_url(server.url(THROWAWAY_DATABASE, current_driver().name))
            create_test_database(url, interactive=False, autoclobber=True)
            STATE.database_url = url
        return t.cast(sa.URL, STATE.database_url)


def process_server() -> ThrowawayServer:
    """Return this process's throwaway server, started on first use and stopped at exit.

    A forked child shares its parent's server; only the parent stops it. A
    server that died is replaced (and its test database forgotten).
    """
    with _server_lock:
        server = STATE.server
        if server is None or not server.is_server_available():
            if server is not None:  # it died: say so, and clean up after it
                reason = server.stop_reason() or "it stopped answering"
                sys.stderr.write(
                    "\nflask-dbtestcase: the throwaway PostgreSQL server it started for this "
                    f"process stopped ({reason}): something outside the run stopped it. "
                    "Starting a new one; the tests that were using it fail with connection "
                    "errors.\n"
                )
                server.stop()
            from ..postgres.server import ThrowawayServer

            server = STATE.server = ThrowawayServer.start(STATE.current_settings().server_config())
            STATE.database_url = None
            atexit.register(server.stop)
            install_signal_handling()
            notice = ignored_settings(STATE.current_settings(), under_runner=False)
            if notice:  # shown once: the warnings module drops repeats of one warning
                warnings.warn(notice, UserWarning, stacklevel=2)
        return t.cast("ThrowawayServer", server)


def _cancel_targets() -> list[str]:
    server = STATE.server
    return [server.url(THROWAWAY_DATABASE, current_driver().name)] if server is not None else []


def install_signal_handling() -> None:
    """Make SIGTERM stop the run as Ctrl-C does, and either cancel the test queries.

    Done once per process, from the main thread only; the query canceller
    does nothing when someone else (an event loop) owns the wakeup fd.
    """
    if STATE.signals_installed or threading.current_thread() is not threading.main_thread():
        return
    STATE.signals_installed = True
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, sigterm_to_keyboard_interrupt)
    QueryCanceller(_cancel_targets).install()
