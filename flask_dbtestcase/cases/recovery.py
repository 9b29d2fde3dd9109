"""After a test got past the savepoints: empty what it may have committed.

A test that ended the test transaction itself (a raw COMMIT in a
multi-statement text, the driver's own ``commit``) may have really
committed rows. Before the class's data is rebuilt, the app's tables on
that database are emptied — committed, on the test database only (the one
safety check) — and the database is marked, so that ``--keepdb`` drops it
instead of keeping it (:mod:`flask_dbtestcase.databases.watch`). The run
says so on stderr.

The same clean-up follows a write that reached the database past the shared
connection (:mod:`flask_dbtestcase.isolation.writecheck`): found at the end of
the test, or at the end of its class when tests sent no statement (their
end sends nothing, so they are checked there). Here the watch is given to
the class's connections, and its log cleared where real commits are
legitimate (FlaskDBTransactionTestCase).
"""

from __future__ import annotations

import functools
import sys
import typing as t
import weakref

import sqlalchemy as sa

from ..databases.safety import check_test_database
from ..databases.urls import same_database
from ..databases.watch import CHECK_STATEMENT, CLEAR_STATEMENT, MARK_COMMENT, Marks, is_watched
from ..isolation.engines import PinnedConnection
from ..isolation.pinned import arm
from ..isolation.protocol import TransactionStatus

__all__ = [
    "check_unchecked",
    "empty_escaped_databases",
    "class_ended",
    "escaped_here",
    "send_check",
    "watch_connections",
]

#: The shared connections a test got past in the current class: what the
#: class leaves behind on them is removed without a second warning.
_ESCAPED: weakref.WeakSet[t.Any] = weakref.WeakSet()
#: The connections of a class-end escape: its clean-up follows the class's end.
_AT_CLASS_END: weakref.WeakSet[t.Any] = weakref.WeakSet()


def escaped_here(conn: PinnedConnection) -> bool:
    """Tell whether a test of the running class got past ``conn``.

    :param conn: a shared connection.
    """
    return conn in _ESCAPED


def class_ended(escapes: t.Iterable[PinnedConnection]) -> None:
    """Start afresh for the next class; ``escapes`` (found at this class's end) are its own.

    :param escapes: the connections the class's end found escapes on (cleaned up next).
    """
    _ESCAPED.clear()
    _AT_CLASS_END.clear()
    _AT_CLASS_END.update(escapes)


def _truncate_statement(tables: t.Iterable[str]) -> str:
    """One statement that empties each of ``tables`` that exists (quoted names)."""
    names = ", ".join("'" + name.replace("'", "''") + "'" for name in sorted(set(tables)))
    return (
        "DO $fdt$DECLARE name text; BEGIN FOREACH name IN ARRAY ARRAY["
        f"{names}]::text[] LOOP IF to_regclass(name) IS NOT NULL THEN "
        "EXECUTE 'TRUNCATE ' || name || ' CASCADE'; END IF; END LOOP; END$fdt$"
    )


@functools.cache
def _preparer() -> t.Any:
    """Return what quotes table and database names as PostgreSQL needs them.

    PostgreSQL's dialect (~40 ms to import) is imported on first use: an escape.
    """
    from sqlalchemy.dialects import postgresql

    return t.cast(t.Any, postgresql).dialect().identifier_preparer


def empty_escaped_databases(
    escaped: t.Collection[PinnedConnection],
    databases: t.Iterable[tuple[PinnedConnection, sa.URL]],
    schema: t.Iterable[tuple[t.Mapping[t.Any, sa.Engine], t.Mapping[t.Any, sa.MetaData]]],
    test_id: str,
) -> None:
    """Empty the app's tables on the databases of ``escaped``, and mark those databases.

    Each connection must be out of its class transaction (``end_class``
    ran): the TRUNCATE is really committed.

    :param escaped: the shared connections a test got past.
    :param databases: the class's test databases, each with its shared connection.
    :param schema: the app's engines and tables, by bind key, for each of its extensions.
    :param test_id: the test that escaped, for the warning.
    """
    schema = list(schema)
    urls = {id(conn): url for conn, url in databases}
    for conn in escaped:
        url = urls.get(id(conn))
        if url is None:
            continue
        check_test_database(url, "empty the tables a test committed to")
        preparer = _preparer()
        tables = [
            preparer.format_table(table)
            for engines, metadatas in schema
            for key, metadata in metadatas.items()
            if key in engines and same_database(engines[key].url, url)
            for table in metadata.tables.values()
        ]
        statements = [f"COMMENT ON DATABASE {preparer.quote(url.database or '')} IS {MARK_COMMENT}"]
        if tables:
            statements.insert(0, _truncate_statement(tables))
        if conn.watch is not None:
            statements.append(CLEAR_STATEMENT)  # what it logged is emptied now
        conn.send_plumbing(statements)
        conn.real_commit()
        if conn in _AT_CLASS_END:
            _AT_CLASS_END.discard(conn)  # the class that escaped has ended
        else:
            _ESCAPED.add(conn)
        if conn.watch is not None:
            conn.watch.checked()
        print(
            f"flask-dbtestcase: warning: {test_id} got past the test transaction; the "
            f"tables of the test database {url.database!r} were emptied of what it may "
            "have committed, and the class's data rebuilt.",
            file=sys.stderr,
        )


def watch_connections(
    databases: t.Iterable[tuple[PinnedConnection, sa.URL]],
    marks: Marks,
    set_up: str | None = None,
) -> None:
    """Give the watch to the shared connections whose database has it.

    :param databases: a class's test databases, each with its shared connection.
    :param marks: the run's marks (which databases have the watch).
    :param set_up: the class's set-up, noted as unchecked (the first check covers it).
    """
    seen: set[int] = set()
    for conn, url in databases:
        if id(conn) in seen:
            continue
        seen.add(id(conn))
        watch = conn.watch
        if watch is None and is_watched(url, marks):  # once per connection
            watch = arm(conn)
        if watch is not None and set_up is not None:
            watch.skipped(set_up)


def check_unchecked(
    connections: t.Iterable[PinnedConnection],
) -> list[tuple[PinnedConnection, str]]:
    """Run the watch's check where tests ended unchecked; return what it found.

    One round trip per connection, and only for a class that sent a
    statement but whose last tests (or set-up) sent none. A class that sent
    nothing at all sends nothing here either: what it ran stays unchecked,
    for the next check (the next test that touches the database, or the end
    of the next class that does). Each finding is a connection and the
    IsolationError's message.

    :param connections: a class's shared connections, before its class transaction ends.
    """
    found = []
    for conn in connections:
        watch = conn.watch
        if watch is None or not watch.pending or conn.closed:
            continue
        if conn.transaction_status in (TransactionStatus.IDLE, TransactionStatus.INERROR):
            continue  # the class sent nothing (or nothing can run): the next check covers it
        message = send_check(conn, None)
        if message is not None:
            found.append((conn, message))
    return found


def send_check(conn: PinnedConnection, where: object) -> str | None:
    """Send the watch's check on ``conn``; return the IsolationError's message if a write got past.

    Sent as a statement: a lost connection raises the driver's own error.

    :param conn: a shared connection with a watch.
    :param where: the test that ended (None: its class's end).
    """
    watch = conn.watch
    assert watch is not None
    try:
        with t.cast(t.Any, conn).cursor() as cur:  # the driver's connection
            cur.execute(CHECK_STATEMENT)
    except conn.driver_error as exc:
        message = watch.found(exc, where)
        if message is None:
            raise
        return message
    watch.checked()
    return None
