"""What a test class leaves in its databases that the watch cannot see, named and removed.

At a :class:`~flask_dbtestcase.FlaskDBTestCase`'s end, each of its
databases is asked, in one query on the shared connection and still in the
class transaction, what differs from the catalog its schema build left
(:mod:`flask_dbtestcase.databases.catalog`): tables and sequences created
outside the models, sequences moved by another connection, large objects.
A class that sent no statement sends none at its end either: what it left
is found by the next class's end, or the run's. Only when the answer is
not empty is it asked again after the rollback,
where what remains was really committed; that is removed (committed) and
named once, with the class, on stderr.
"""

from __future__ import annotations

import sys
import typing as t

import sqlalchemy as sa

from ..databases.catalog import (
    Catalog,
    built_catalog,
    check_statement,
    cleanup_statements,
    differences,
)
from ..databases.safety import check_test_database
from ..databases.watch import Marks
from ..isolation.engines import PinnedConnection
from ..isolation.protocol import TransactionStatus
from .pinning import Pinned
from .recovery import class_ended, escaped_here

__all__ = ["find_leftovers", "finish_class", "remove_leftovers"]

#: A shared connection whose class left something behind, its database and built catalog.
Leftover = tuple[PinnedConnection, sa.URL, Catalog]


def _ask(conn: PinnedConnection, catalog: Catalog) -> list[t.Any] | None:
    """Run the catalog's check on ``conn``; its rows (None if it failed)."""
    try:
        with t.cast(t.Any, conn).cursor() as cur:  # the driver's connection
            cur.execute(check_statement(catalog))
            return list(cur.fetchall())
    except conn.driver_error:
        return None


def find_leftovers(
    databases: t.Iterable[tuple[PinnedConnection, sa.URL]], marks: Marks
) -> list[Leftover]:
    """Ask each database, before its class transaction ends, whether the class left something.

    :param databases: a class's test databases, each with its shared connection.
    :param marks: the run's marks (each database's built catalog).
    """
    found: list[Leftover] = []
    seen: set[int] = set()
    for conn, url in databases:
        catalog = built_catalog(url, marks)
        if catalog is None or conn.closed or id(conn) in seen:
            continue
        seen.add(id(conn))
        status = conn.transaction_status
        if status == TransactionStatus.IDLE:
            continue  # the class sent nothing, and its end sends nothing: the next check covers it
        if status == TransactionStatus.INERROR or _ask(conn, catalog):
            found.append((conn, url, catalog))
    return found


def remove_leftovers(
    found: t.Iterable[Leftover], owner: str, escapes: t.Iterable[tuple[t.Any, str]] = ()
) -> None:
    """After the class transaction ended: remove what is still there, and name it once.

    Tables and sequences created outside the models are dropped, moved
    sequences reset to their built value, new large objects unlinked, and
    the change committed. On a connection a test of the class got past, the
    escape's own error has said so already: no warning.

    :param found: what :func:`find_leftovers` returned.
    :param owner: the test class, for the warning.
    :param escapes: the class's escapes found at its end (connection, message).
    """
    quiet = {id(conn) for conn, _ in escapes}
    for conn, url, catalog in found:
        if conn.closed:
            continue
        leftovers = differences(catalog, _ask(conn, catalog) or [])
        if not leftovers:
            conn.real_rollback()
            continue
        check_test_database(url, "remove what a test left behind")
        conn.send_plumbing(cleanup_statements(leftovers))
        conn.real_commit()
        if id(conn) in quiet or escaped_here(conn):
            continue
        print(
            f"flask-dbtestcase: warning: {owner} left behind in the test database "
            f"{url.database!r}: {leftovers.describe()}. A connection other than the "
            "test's made them (in one of its tests, or in something that ran before it "
            "outside a test class), so rolling back the test did not undo them; they "
            "were removed for the next tests. Undo such changes in the test itself "
            "(tearDown or addCleanup), or make them through the app's db.",
            file=sys.stderr,
        )


def finish_class(
    connections: t.Iterable[PinnedConnection],
    pinned: Pinned,
    marks: Marks,
    owner: str,
    escapes: t.Iterable[tuple[t.Any, str]] = (),
) -> None:
    """Roll back a class's transactions, then remove what the class left behind.

    :param connections: the class's shared connections.
    :param pinned: its pinned test databases.
    :param marks: the run's marks (each database's built catalog).
    :param owner: the test class, for the warning.
    :param escapes: the class's escapes found at its end (connection, message).
    """
    found = find_leftovers(pinned.databases(), marks)
    for conn in connections:
        conn.end_class()
    escapes = list(escapes)
    remove_leftovers(found, owner, escapes)
    class_ended(conn for conn, _ in escapes)
