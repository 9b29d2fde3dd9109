"""The run of the test classes: the runner's or the plugin's, or one of their own.

Under the runner or the pytest plugin, the test classes read the run they
entered (:mod:`flask_dbtestcase.state`). Without either (``python -m
unittest``), the first test class is the edge: it settles the settings and
opens the test databases (a throwaway server for the process, or the test
database handed over in ``FLASK_DBTESTCASE_DATABASE_URL``); they are closed
when the process exits. SIGTERM then stops the run like Ctrl-C does, and
either stops a test blocked in a query. A throwaway server that something
outside the run stopped is replaced.
"""

from __future__ import annotations

import atexit
import dataclasses
import sys
import threading
import warnings

from sqlalchemy.engine import URL

from ..databases.lifecycle import open_test_databases
from ..settings import Settings, ignored_settings
from ..state import Run, current_run, enter_run, leave_run
from ..variables import DATABASE_URL_ENV

__all__ = ["current_database_url", "ensure_run"]

_lock = threading.Lock()
#: The runs the test classes opened themselves (closed at exit).
_own_runs: list[Run] = []


def ensure_run() -> Run:
    """Return the run the test classes belong to, opening one for the process if none is open.

    A throwaway server of that run that died is replaced, with a new test database.
    """
    run = current_run()
    if run is not None and not _server_died(run):
        return run
    with _lock:
        run = current_run()
        if run is not None and _server_died(run):
            _replace(run)
            run = None
        if run is None:
            run = _open_own_run()
        return run


def current_database_url() -> URL:
    """Return the test database of the run the test classes belong to (opened if needed)."""
    return ensure_run().databases.url


def _server_died(run: Run) -> bool:
    """Whether the throwaway server of a run the classes opened themselves died.

    A runner's or the plugin's own server is theirs to report (at the end of the run).
    """
    server = run.databases.server
    return run in _own_runs and server is not None and not server.is_server_available()


def _replace(run: Run) -> None:
    """Close a run whose throwaway server something outside the run stopped."""
    server = run.databases.server
    assert server is not None
    reason = server.stop_reason() or "it stopped answering"
    sys.stderr.write(
        "\nflask-dbtestcase: the throwaway PostgreSQL server it started for this "
        f"process stopped ({reason}): something outside the run stopped it. "
        "Starting a new one; the tests that were using it fail with connection "
        "errors.\n"
    )
    _close(run, quiet=True)


def _open_own_run() -> Run:
    """Settle the settings and open the process's test databases, closed at exit."""
    settings = Settings.load()
    # TEST_DATABASE_URL is the runner's (RUNNER_ONLY): without it, a throwaway server.
    config = dataclasses.replace(settings.databases_config(), existing_server=None)
    databases = open_test_databases(config, interactive=False, hand_over=False)
    if databases.mode == "throwaway":
        databases.hand_over()
        notice = ignored_settings(settings, under_runner=False)
        if notice:  # shown once: the warnings module drops repeats of one warning
            warnings.warn(notice, UserWarning, stacklevel=3)
    run = Run(settings, databases)
    enter_run(run)
    _own_runs.append(run)
    atexit.register(_close_at_exit, run)
    return run


def _close(run: Run, quiet: bool = False) -> None:
    """Close a run the classes opened (at exit, or when its server died)."""
    if run in _own_runs:
        _own_runs.remove(run)
    leave_run(run)
    run.databases.close(quiet=quiet)


def _close_at_exit(run: Run) -> None:
    """Close a run the classes opened when the process exits; say in one paragraph if it fails.

    Its server may be gone by then (a service stopped before the tests' process
    ended): the exit status stays the tests'.
    """
    try:
        _close(run)
    except Exception as exc:
        sys.stderr.write(_cleanup_failed(run, exc))


def _cleanup_failed(run: Run, exc: Exception) -> str:
    """Return the paragraph that says the run's end could not clean up, and what to do."""
    databases = run.databases
    urls = [databases.url, *databases.clones]
    names = ", ".join(dict.fromkeys(url.database for url in urls if url.database))
    lines = str(getattr(exc, "orig", exc)).strip().splitlines()
    error = lines[0] if lines else type(exc).__name__
    if databases.mode == "given":
        left = (
            f"The test database {names} (from ${DATABASE_URL_ENV}) may still hold what "
            "the tests committed outside their transactions: drop it, or create it "
            "again before the next run."
        )
    else:
        left = (
            f"The test databases it created may be left on that server ({names}): "
            "drop them, or the next run with --noinput replaces them."
        )
    return (
        "\nflask-dbtestcase: could not clean up the test databases at the end of the "
        f"run ({error}). Most likely the database server stopped before the tests' "
        f"process ended (a service or container stopped first). {left} Stop the "
        "server only after the tests' process has ended.\n"
    )
