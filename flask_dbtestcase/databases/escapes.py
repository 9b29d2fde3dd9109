"""The mark of a test database that a test really committed to.

A test that got past the savepoints may leave rows, DDL or sequences behind
that emptying the tables does not undo. The test case marks the database
(a comment on it, so that the mark crosses ``--parallel`` workers and
survives the connection); ``--keepdb`` drops a marked database instead of
keeping it.
"""

from __future__ import annotations

import typing as t

from sqlalchemy.engine import URL

from .creation import destroy_test_database
from .maintenance import connect_maintenance
from .safety import check_test_database

__all__ = ["MARK", "MARK_COMMENT", "drop_escaped_databases", "is_marked"]

#: The comment a marked database carries.
MARK = "flask-dbtestcase: a test committed to this database"
#: The same, as an SQL literal.
MARK_COMMENT = "'" + MARK.replace("'", "''") + "'"


def is_marked(url: URL) -> bool:
    """Tell whether a test committed to the database at ``url`` (False if it is gone).

    :param url: the test database's URL.
    """
    conn = connect_maintenance(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                (url.database,),
            )
            row = cur.fetchone()
    finally:
        conn.close()
    return row is not None and row[0] == MARK


def drop_escaped_databases(urls: t.Iterable[URL]) -> list[str]:
    """Drop the marked databases among ``urls``; return their names.

    :param urls: the test databases ``--keepdb`` would keep.
    """
    dropped = []
    for url in urls:
        check_test_database(url, "drop the database")
        if is_marked(url):
            destroy_test_database(url)
            dropped.append(url.database or "")
    return dropped
