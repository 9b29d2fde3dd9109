"""Creating the models' tables in a test database, and rebuilding them when the models change.

A kept test database (``--keepdb``) may hold tables from an older version of
the models. Each metadata's DDL is fingerprinted and recorded in the
database; tables are reused only when the fingerprint matches, and dropped
and created again otherwise, so a kept database never silently runs tests
against a stale schema.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateTable

from .safety import check_test_database

__all__ = ["RECORD_TABLE", "ensure_tables", "fingerprint"]

#: Where the fingerprints live, in each test database.
RECORD_TABLE = "flask_dbtestcase_schema"


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
    digest = fingerprint(metadata, engine.dialect)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"CREATE TABLE IF NOT EXISTS {RECORD_TABLE} "
                "(tables text PRIMARY KEY, fingerprint text NOT NULL)"
            )
        )
        recorded = conn.execute(
            sa.text(f"SELECT fingerprint FROM {RECORD_TABLE} WHERE tables = :key"), {"key": key}
        ).scalar()
        if recorded == digest:
            return False
        metadata.drop_all(conn)
        metadata.create_all(conn)
        conn.execute(
            sa.text(
                f"INSERT INTO {RECORD_TABLE} (tables, fingerprint) VALUES (:key, :digest) "
                "ON CONFLICT (tables) DO UPDATE SET fingerprint = EXCLUDED.fingerprint"
            ),
            {"key": key, "digest": digest},
        )
    return True
