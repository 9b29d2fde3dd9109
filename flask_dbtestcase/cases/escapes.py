"""After a test got past the savepoints: empty what it may have committed.

A test that ended the test transaction itself (a raw COMMIT in a
multi-statement text, the driver's own ``commit``) may have really
committed rows. Before the class's data is rebuilt, the app's tables on
that database are emptied — committed, on the test database only (the one
safety check) — and the database is marked, so that ``--keepdb`` drops it
instead of keeping it (:mod:`flask_dbtestcase.databases.escapes`). The run
says so on stderr.
"""

from __future__ import annotations

import sys
import typing as t

import sqlalchemy as sa

from ..databases.escapes import MARK_COMMENT
from ..databases.safety import check_test_database
from ..isolation.engines import PinnedConnection, PinnedEngine

__all__ = ["empty_escaped_databases"]


def _truncate_statement(tables: t.Iterable[str]) -> str:
    """One statement that empties each of ``tables`` that exists (quoted names)."""
    names = ", ".join("'" + name.replace("'", "''") + "'" for name in sorted(set(tables)))
    return (
        "DO $fdt$DECLARE name text; BEGIN FOREACH name IN ARRAY ARRAY["
        f"{names}]::text[] LOOP IF to_regclass(name) IS NOT NULL THEN "
        "EXECUTE 'TRUNCATE ' || name || ' CASCADE'; END IF; END LOOP; END$fdt$"
    )


def empty_escaped_databases(
    escaped: t.Collection[PinnedConnection],
    pinned: t.Iterable[PinnedEngine],
    engines: t.Mapping[t.Any, sa.Engine],
    metadatas: t.Mapping[t.Any, sa.MetaData],
    test_id: str,
) -> None:
    """Empty the app's tables on the databases of ``escaped``, and mark those databases.

    Each connection must be out of its class transaction (``end_class``
    ran): the TRUNCATE is really committed.

    :param escaped: the shared connections a test got past.
    :param pinned: the class's pinned engines.
    :param engines: the class's engines, by bind key.
    :param metadatas: the app's metadata, by bind key.
    :param test_id: the test that escaped, for the warning.
    """
    connection_of = {id(p.engine): p.connection for p in pinned}
    for conn in escaped:
        keys = [key for key, engine in engines.items() if connection_of.get(id(engine)) is conn]
        if not keys:
            continue
        url = engines[keys[0]].url
        check_test_database(url, "empty the tables a test committed to")
        preparer = engines[keys[0]].dialect.identifier_preparer
        tables = [
            preparer.format_table(table)
            for key in keys
            if key in metadatas
            for table in metadatas[key].tables.values()
        ]
        statements = [f"COMMENT ON DATABASE {preparer.quote(url.database or '')} IS {MARK_COMMENT}"]
        if tables:
            statements.insert(0, _truncate_statement(tables))
        conn.send_plumbing(statements)
        conn.real_commit()
        print(
            f"flask-dbtestcase: warning: {test_id} got past the test transaction; the "
            f"tables of the test database {url.database!r} were emptied of what it may "
            "have committed, and the class's data rebuilt.",
            file=sys.stderr,
        )
