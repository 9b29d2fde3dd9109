"""Loading data files (``fixtures``) into the test database.

A fixture file is JSON: ``{"table_name": [{"column": value, ...}, ...], ...}``.
Tables are loaded in the file's order, rows may name different columns, and
sequences are moved past explicit ids so later inserts don't collide.
"""

from __future__ import annotations

import inspect
import json
import os
import typing as t
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ..errors import ConfigurationError

__all__ = [
    "find_fixture",
    "fixture_tables",
    "load_fixture",
    "load_fixtures",
]


def find_fixture(name: str, test_class: type) -> Path:
    """Find the fixture file ``name``: absolute, next to the test module, or from the cwd.

    :param name: the file name, as ``fixtures`` lists it.
    :param test_class: the test class whose ``fixtures`` name it.
    """
    path = Path(name)
    candidates = [path] if path.is_absolute() else []
    try:
        module_file: str | None = inspect.getfile(test_class)
    except TypeError:  # a class made at run time, in no file
        module_file = None
    if not path.is_absolute():
        if module_file:
            candidates.append(Path(module_file).parent / path)
            candidates.append(Path(module_file).parent / "fixtures" / path)
        candidates.append(Path(os.getcwd()) / path)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigurationError(
        f"Fixture file '{name}' of {test_class.__qualname__} was not found (looked in: "
        + ", ".join(str(c) for c in candidates)
        + "). Give a path relative to the test module or to the directory you run "
        "the tests from."
    )


def load_fixture(path: Path, tables: t.Mapping[str, tuple[sa.Table, t.Any]], session: t.Any) -> int:
    """Insert the rows of one fixture file through ``session``; return the row count.

    :param path: the fixture file.
    :param tables: maps a table name (and "schema.name") to the table and the
        bind key it belongs to.
    :param session: the test class's session.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"Fixture file {path} is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"Fixture file {path} must hold a JSON object mapping table names to lists "
            'of rows, e.g. {"user": [{"id": 1, "name": "alice"}]}.'
        )
    count = 0
    for table_name, rows in data.items():
        if table_name not in tables:
            raise ConfigurationError(
                f"Fixture file {path} names table '{table_name}', which none of the "
                f"app's models defines. Known tables: {', '.join(sorted(tables)) or 'none'}."
            )
        table, bind_key = tables[table_name]
        if not isinstance(rows, list):
            raise ConfigurationError(
                f"Fixture file {path}: the value of '{table_name}' must be a list of rows."
            )
        for index, row in enumerate(rows):
            _check_row(path, table, index, row)
            try:
                session.execute(
                    table.insert().values(**row),
                    bind_arguments={"bind": session.get_bind(clause=table)},
                )
            except SQLAlchemyError as exc:
                session.rollback()
                raise ConfigurationError(
                    f"Fixture file {path}, table '{table_name}', row {index}: the "
                    f"database refused it: {getattr(exc, 'orig', exc)}".rstrip()
                ) from None
            count += 1
        _reset_sequences(session, table, rows)
    return count


def _check_row(path: Path, table: sa.Table, index: int, row: t.Any) -> None:
    if not isinstance(row, dict):
        raise ConfigurationError(
            f"Fixture file {path}, table '{table.name}', row {index}: a row must be a "
            f"JSON object of column values, not {type(row).__name__}."
        )
    unknown = [c for c in row if c not in table.c]
    if unknown:
        raise ConfigurationError(
            f"Fixture file {path}, table '{table.name}', row {index}: no column named "
            f"{', '.join(repr(c) for c in unknown)}. Columns: {', '.join(table.c.keys())}."
        )


def _reset_sequences(session: t.Any, table: sa.Table, rows: list[dict[str, t.Any]]) -> None:
    """Move each integer primary key's sequence past the ids the fixture gave."""
    given = {key for row in rows for key in row}
    bind = session.get_bind(clause=table)
    preparer = bind.dialect.identifier_preparer
    qualified = preparer.format_table(table)
    for column in table.primary_key.columns:
        if column.name not in given or not isinstance(column.type, sa.Integer):
            continue
        session.execute(
            sa.text(
                f"SELECT setval(seq, (SELECT max({preparer.quote(column.name)}) FROM {qualified})) "
                "FROM (SELECT pg_get_serial_sequence(:table, :column) AS seq) s "
                "WHERE seq IS NOT NULL"
            ),
            {"table": qualified, "column": column.name},
            bind_arguments={"bind": bind},
        )


def fixture_tables(db: t.Any) -> dict[str, tuple[sa.Table, t.Any]]:
    """Return the tables a fixture may name (full name, or bare name), with their bind key.

    :param db: the app's database layer (``metadatas``).
    """
    tables: dict[str, tuple[sa.Table, t.Any]] = {}
    for key, metadata in db.metadatas.items():
        for table in metadata.tables.values():
            tables[table.fullname] = (table, key)
            tables.setdefault(table.name, (table, key))
    return tables


def load_fixtures(names: t.Iterable[str], test_class: type, db: t.Any) -> None:
    """Load a test class's ``fixtures``, in order, and commit them.

    :param names: the fixture names.
    :param test_class: the class, whose directory is searched.
    :param db: the app's database layer (``metadatas``, ``session``).
    """
    tables = fixture_tables(db)
    session = db.session
    for name in names:
        load_fixture(find_fixture(name, test_class), tables, session)
    session.commit()
