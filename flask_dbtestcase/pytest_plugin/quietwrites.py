"""Writes past the shared connection by a pytest test that sent no statement: found at its end.

A write through a connection flask-dbtestcase did not pin (a raw
``psycopg2.connect()`` that commits) is logged by the watch
(:mod:`flask_dbtestcase.databases.watch`). Its check rides with the
``ROLLBACK TO`` of a test that sent a statement; a test that sent none sends
nothing at its end, and the runner checks at its class's end. Under pytest
the ``db`` tests share one open case until the session ends (or a test of
another kind comes), so that check would come after the last test, outside
any test's report: the escape would pass, and pytest would exit 0.

So after a ``db`` test that sent nothing, the plugin runs the check itself
(one round trip, only for such tests, only on a connection whose watch has
something unchecked). A write found there fails that test at its teardown,
named: the plugin ends the case, empties the app's tables on that database
and marks it (:func:`~flask_dbtestcase.cases.recovery.empty_escaped_databases`),
and the next test opens a new case.
"""

from __future__ import annotations

import typing as t

from ..cases.recovery import send_check
from ..isolation.protocol import TransactionStatus

if t.TYPE_CHECKING:
    import sqlalchemy as sa

    from ..isolation.engines import PinnedConnection, Pins

__all__ = ["check_quiet_test", "escaped_databases"]


def _unchecked(connections: t.Iterable[PinnedConnection]) -> list[PinnedConnection]:
    """The connections whose watch has something unchecked (the test sent nothing on them)."""
    return [
        conn
        for conn in connections
        if conn.watch is not None
        and conn.watch.pending
        and not conn.closed
        and conn.transaction_status != TransactionStatus.INERROR
    ]


def check_quiet_test(
    pins: Pins, urls: t.Callable[[], t.Iterable[sa.URL]], test: t.Any
) -> list[tuple[PinnedConnection, str]]:
    """Run the watch's check where ``test`` sent nothing; return each write found, with its message.

    Only the shared connections to the test's databases whose watch has
    something unchecked are checked (none after a test that sent a
    statement on each). A connection whose class sent nothing yet begins
    its transaction with the check, as it would with the class's first statement.

    :param pins: the run's shared connections.
    :param urls: returns the test's databases (asked only if some connection is unchecked).
    :param test: the test that just ended (its ``id()`` names it).
    """
    candidates = _unchecked(pins.connections())
    if not candidates:
        return []
    from ..databases.urls import database_key

    keys = {database_key(url) for url in urls()}
    name = test.id()
    found = []
    for conn in candidates:
        if pins.database_of(conn) not in keys:
            continue  # another app's database: its own class's end checks it
        watch = conn.watch
        assert watch is not None
        if watch.unchecked and watch.unchecked[-1] == name:
            watch.unchecked.pop()  # named as the one that wrote, not among the earlier ones
        message = send_check(conn, test)
        if message is not None:
            found.append((conn, message))
    return found


def escaped_databases(
    escaped: t.Iterable[PinnedConnection], pins: Pins, urls: t.Iterable[sa.URL]
) -> list[tuple[PinnedConnection, sa.URL]]:
    """Return each connection of ``escaped`` with its test database, found among ``urls``.

    :param escaped: shared connections a write got past.
    :param pins: the run's shared connections.
    :param urls: the app's test databases.
    """
    from ..databases.urls import database_key

    by_key = {database_key(url): url for url in urls}
    pairs = []
    for conn in escaped:
        url = by_key.get(pins.database_of(conn) or ("", 0, ""))
        if url is not None:
            pairs.append((conn, url))
    return pairs
