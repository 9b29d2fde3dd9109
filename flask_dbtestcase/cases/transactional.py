"""Emptying the tables after a test that really committed (FlaskDBTransactionTestCase)."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa

from ..databases.safety import check_test_database

__all__ = ["empty_tables"]


def empty_tables(
    metadatas: t.Mapping[t.Any, sa.MetaData], engines: t.Mapping[t.Any, sa.Engine]
) -> None:
    """Empty every table of the app's models and reset their sequences.

    :param metadatas: the app's tables, by bind key.
    :param engines: the engines whose databases are emptied, by bind key.
    """
    for key, metadata in metadatas.items():
        engine = engines.get(key)
        if engine is None or not metadata.tables:
            continue
        check_test_database(engine.url, "empty the tables")
        preparer = engine.dialect.identifier_preparer
        names = ", ".join(preparer.format_table(table) for table in metadata.sorted_tables)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
