"""Creating the models' tables in a test database, and rebuilding them when the models change.

A kept test database (``--keepdb``) may hold tables from an older version of
the models. Each metadata's DDL is fingerprinted and recorded in the
database; tables are reused only when the fingerprint matches, and dropped
and created again otherwise, so a kept database never silently runs tests
against a stale schema.

With the tables, the schema gets the watch (:mod:`.watch`): a trigger per
table that logs a write made past the shared connection. The watch's
version is part of the recorded fingerprint, so a kept database made
without it is rebuilt once.
"""

from __future__ import annotations

import hashlib
import typing as t
import warnings

import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateTable

from .safety import check_test_database
from .watch import WATCH_VERSION, install_statements, note_watched

__all__ = ["RECORD_TABLE", "ensure_tables", "fingerprint", "watch_tables"]

#: Where the fingerprints live, in each test database.
RECORD_TABLE = "flask_dbtestcase_schema"

# Whether the record table exists, and whether the database is blank: no
# relation and no enum, domain or range type outside the system schemas
# (``pg_*`` and information_schema), as a database made from a clean
# template1 is. A blank database has nothing to drop and nothing to check
# for, so create_all runs without one query per table first.
_PROBE = (
    "SELECT to_regclass(:record) IS NOT NULL, "
    "NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema') "
    "AND NOT EXISTS (SELECT 1 FROM pg_type ty JOIN pg_namespace n ON n.oid = ty.typnamespace "
    "WHERE ty.typtype IN ('e', 'd', 'r', 'm') "
    "AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema')"
)


def fingerprint(metadata: sa.MetaData, dialect: sa.Dialect) -> str:
    """Return a digest of the DDL that ``metadata.create_all()`` would run.

    :param metadata: the models' tables.
    :param dialect: the database's dialect, which the DDL is compiled for.
    """
    parts = []
    for table in metadata.sorted_tables:
        parts.append(str(CreateTable(table).compile(dialect=dialect)))
        for index in sorted(table.indexes, key=lambda index: index.name or ""):
            parts.append(str(CreateIndex(index).compile(dialect=dialect)))
        for column in table.columns:
            enums = getattr(column.type, "enums", None)
            if enums:
                parts.append(f"{table.name}.{column.name}: {enums}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def ensure_tables(engine: sa.Engine, metadata: sa.MetaData) -> bool:
    """Make the database hold exactly ``metadata``'s tables; True if they were (re)built.

    :param engine: the test database.
    :param metadata: the models' tables.
    """
    if not metadata.tables:
        return False
    check_test_database(engine.url, "create tables")
    key = ",".join(sorted(metadata.tables))
    plain = fingerprint(metadata, engine.dialect)
    digest, unwatched = f"{plain}+{WATCH_VERSION}", f"{plain}+unwatched"
    with engine.begin() as conn:
        has_record, blank = conn.execute(sa.text(_PROBE), {"record": RECORD_TABLE}).one()
        if has_record:
            recorded = conn.execute(
                sa.text(f"SELECT fingerprint FROM {RECORD_TABLE} WHERE tables = :key"),
                {"key": key},
            ).scalar()
            if recorded in (digest, unwatched):
                if recorded == digest:  # (what an earlier run left in the log is reported)
                    note_watched(engine.url)
                return False
        else:
            conn.execute(
                sa.text(
                    f"CREATE TABLE {RECORD_TABLE} "
                    "(tables text PRIMARY KEY, fingerprint text NOT NULL)"
                )
            )
        if not blank:
            metadata.drop_all(conn)
        metadata.create_all(conn, checkfirst=not blank)
        if not _install_watch(conn, [metadata], engine.url):
            digest = unwatched
        conn.execute(
            sa.text(
                f"INSERT INTO {RECORD_TABLE} (tables, fingerprint) VALUES (:key, :digest) "
                "ON CONFLICT (tables) DO UPDATE SET fingerprint = EXCLUDED.fingerprint"
            ),
            {"key": key, "digest": digest},
        )
    return True


def _install_watch(conn: sa.Connection, metadatas: t.Iterable[sa.MetaData], url: sa.URL) -> bool:
    """Put the watch on the tables of ``metadatas``; False if the server refused (a warning)."""
    preparer = conn.dialect.identifier_preparer
    tables = [preparer.format_table(table) for m in metadatas for table in m.tables.values()]
    try:
        with conn.begin_nested():  # in one round trip
            conn.exec_driver_sql(";\n".join(install_statements(tables)))
    except sa.exc.DBAPIError as exc:
        warnings.warn(
            f"flask-dbtestcase could not set up its watch on the test database "
            f"{url.database!r} ({str(exc.orig).strip().splitlines()[0]}), so a write a "
            "test makes through a connection of its own (not the app's db) will not be "
            "named at the test's end. Give the test user the right to create a schema "
            "and triggers in the test database.",
            UserWarning,
            stacklevel=3,
        )
        return False
    note_watched(url)
    return True


def watch_tables(engine: sa.Engine, metadatas: t.Iterable[sa.MetaData]) -> None:
    """Put the watch on the tables of ``metadatas`` that exist (after the migrations ran).

    :param engine: the test database.
    :param metadatas: the app's metadata of that database.
    """
    check_test_database(engine.url, "create triggers")
    with engine.begin() as conn:
        _install_watch(conn, metadatas, engine.url)
