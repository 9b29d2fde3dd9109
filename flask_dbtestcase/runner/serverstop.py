"""The run's own throwaway server, stopped from outside mid-run.

Something outside the run (``pg_ctl stop``, a ``kill``, the OOM killer, a
system shutdown) can stop the server the runner started. The tests then
fail with connection errors that read as if the user's own server were at
fault. :func:`stopped_server_report` says what happened instead: that the
framework's own server stopped, why (from its log), and which tests it broke.
"""

from __future__ import annotations

import typing as t
import unittest

__all__ = ["broken_by_stopped_server", "stopped_server_report"]

#: The exception classes (their last dotted component) of a lost or refused connection.
_CONNECTION_ERRORS = (
    "OperationalError",
    "InterfaceError",
    # psycopg (3) raises these subclasses of OperationalError by their own names.
    "AdminShutdown",
    "CrashShutdown",
    "CannotConnectNow",
)


def broken_by_stopped_server(result: unittest.TestResult, socket_dir: str) -> list[str]:
    """Return the ids of the tests (and set-up holders) a stopped server broke.

    A test is broken when one of its errors is a lost or refused connection
    (``OperationalError``, ``InterfaceError``), or names the server's socket.

    :param result: the run's result (a :class:`~.results.DBTestResult`).
    :param socket_dir: the stopped server's socket directory.
    """
    records: t.Mapping[str, t.Any] = getattr(result, "records", {})
    broken = []
    for key, record in records.items():
        for detail in record["details"]:
            if detail["kind"] != "error":
                continue
            exc_type = (detail["type"] or "").rpartition(".")[2]
            if exc_type in _CONNECTION_ERRORS or socket_dir in detail["message"]:
                broken.append(key)
                break
    return broken


def stopped_server_report(reason: str, broken: t.Sequence[str]) -> str:
    """Say that the run's own throwaway server stopped, why, and what it broke.

    :param reason: from :meth:`~flask_dbtestcase.postgres.server.ThrowawayServer.stop_reason`.
    :param broken: the ids of the tests it broke.
    """
    text = (
        "The throwaway PostgreSQL server that flask-dbtestcase started for this run "
        f"stopped during the run: {reason}. Something outside the run stopped it (pg_ctl "
        "stop, a kill, the OOM killer, a shutdown of the machine); it is not a server of "
        "yours, and nothing is wrong with your database settings."
    )
    if broken:
        shown = ", ".join(broken[:10]) + (
            f" and {len(broken) - 10} more" if len(broken) > 10 else ""
        )
        return f"{text} The tests it broke ({len(broken)}): {shown}. Run them again."
    return f"{text} No test was broken by it."
