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
import weakref

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.schema import CreateIndex, CreateTable

from ..errors import ConfigurationError
from .catalog import note_catalog, take_catalog
from .flaskmigrate import check_migrations, run_migrations
from .safety import check_test_database
from .urls import database_key
from .watch import WATCH_VERSION, Marks, install_statements, note_watched

__all__ = [
    "RECORD_TABLE",
    "build_schema",
    "built_tables",
    "create_schemas",
    "ensure_tables",
    "fingerprint",
    "snapshot_catalog",
    "watch_tables",
]

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


def create_schemas(conn: sa.Connection, metadata: sa.MetaData) -> None:
    """Create the schemas ``metadata``'s tables name (``__table_args__ = {"schema": ...}``).

    ``create_all`` creates tables, not schemas: production databases have
    them already (a migration or the DBA made them). A test database is new,
    so they are made here, and go with it when it is dropped.

    :param conn: a connection to the test database, in a transaction.
    :param metadata: the models' tables.
    """
    schemas = sorted({table.schema for table in metadata.tables.values() if table.schema})
    if schemas:
        quote = conn.dialect.identifier_preparer.quote_schema
        conn.exec_driver_sql(
            ";\n".join(f"CREATE SCHEMA IF NOT EXISTS {quote(name)}" for name in schemas)
        )


def ensure_tables(engine: sa.Engine, metadata: sa.MetaData, marks: Marks) -> bool:
    """Make the database hold exactly ``metadata``'s tables; True if they were (re)built.

    :param engine: the test database.
    :param metadata: the models' tables.
    :param marks: the run's marks (the watch is noted in them).
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
                    note_watched(engine.url, marks)
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
        create_schemas(conn, metadata)
        metadata.create_all(conn, checkfirst=not blank)
        if not _install_watch(conn, [metadata], engine.url, marks):
            digest = unwatched
        conn.execute(
            sa.text(
                f"INSERT INTO {RECORD_TABLE} (tables, fingerprint) VALUES (:key, :digest) "
                "ON CONFLICT (tables) DO UPDATE SET fingerprint = EXCLUDED.fingerprint"
            ),
            {"key": key, "digest": digest},
        )
    return True


def _install_watch(
    conn: sa.Connection, metadatas: t.Iterable[sa.MetaData], url: sa.URL, marks: Marks
) -> bool:
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
    note_watched(url, marks)
    return True


def watch_tables(engine: sa.Engine, metadatas: t.Iterable[sa.MetaData], marks: Marks) -> None:
    """Put the watch on the tables of ``metadatas`` that exist (after the migrations ran).

    :param engine: the test database.
    :param metadatas: the app's metadata of that database.
    :param marks: the run's marks (the watch is noted in them).
    """
    check_test_database(engine.url, "create triggers")
    with engine.begin() as conn:
        _install_watch(conn, metadatas, engine.url, marks)


def snapshot_catalog(engine: sa.Engine, marks: Marks) -> None:
    """Keep the database's catalog as the build left it (see :mod:`.catalog`).

    :param engine: the test database, its schema just built.
    :param marks: the run's marks (the catalog is kept in them).
    """
    check_test_database(engine.url, "record its catalog")
    with engine.begin() as conn:
        note_catalog(engine.url, marks, take_catalog(conn))


#: Marks what ``create_all`` built, as ``(*database, id(metadata), _BUILT, tables)``.
_BUILT = "built"


def built_tables(url: sa.URL, metadata: sa.MetaData, marks: Marks) -> frozenset[str] | None:
    """Return the tables of ``metadata`` that ``create_all`` built in the database, if it ran.

    A model whose module was imported later is in ``metadata`` but not here.

    :param url: the test database.
    :param metadata: the models' tables.
    :param marks: the run's marks.
    """
    key = (*database_key(url), id(metadata), _BUILT)
    for mark in marks:
        if mark[:-1] == key and isinstance(mark[-1], frozenset):
            return t.cast(frozenset[str], mark[-1])
    return None


def build_schema(
    app: Flask,
    metadatas: t.Mapping[t.Any, sa.MetaData],
    engines: t.Mapping[t.Any, sa.Engine],
    marks: Marks,
    schema: str = "create_all",
    migrations_directory: str | None = None,
    check: bool = False,
) -> None:
    """Build the tables once per database and run: ``create_all`` or the migrations.

    :param app: the app, for the migrations.
    :param metadatas: the models' tables, by bind key (``None``: the main database).
    :param engines: the engines whose databases get the schema, by bind key.
    :param marks: the run's marks: what is built already.
    :param schema: ``"create_all"`` or ``"migrations"``.
    :param migrations_directory: the Flask-Migrate directory.
    :param check: with migrations, fail when the models have unmigrated changes.
    """
    if schema == "migrations":
        migrated = (
            tuple(sorted(database_key(e.url) for e in engines.values())),
            f"migrations:{migrations_directory}",
        )
        if migrated not in marks:
            for target in engines.values():
                check_test_database(target.url, "run the migrations")
            run_migrations(app, migrations_directory)
            if check:
                check_migrations(app, migrations_directory)
            for key, target in engines.items():  # the watch, on the tables the models name
                watch_tables(target, [m for k, m in metadatas.items() if k == key], marks)
                snapshot_catalog(target, marks)
            marks.add(migrated)
        return
    if schema != "create_all":
        raise ConfigurationError(
            f"schema = {schema!r} is not a schema source: use 'create_all' (the "
            "default: create the models' tables) or 'migrations' (run the "
            "Flask-Migrate migrations)."
        )
    _warn_if_no_models(app, metadatas.values())
    for key, metadata in metadatas.items():
        engine = engines.get(key)
        if engine is None:
            continue
        mark = (*database_key(engine.url), id(metadata))
        if mark not in marks:
            ensure_tables(engine, metadata, marks)
            marks.add(mark)
            marks.add((*mark, _BUILT, frozenset(metadata.tables)))
            snapshot_catalog(engine, marks)


# The metadata already warned about by _warn_if_no_models.
_WARNED_EMPTY: weakref.WeakSet[sa.MetaData] = weakref.WeakSet()


def _warn_if_no_models(app: Flask, metadatas: t.Iterable[sa.MetaData]) -> None:
    """Warn, once per metadata, when create_all would create no table at all.

    :param app: the app, for the message.
    :param metadatas: its models' tables.
    """
    metadatas = list(metadatas)
    if any(m.tables for m in metadatas) or all(m in _WARNED_EMPTY for m in metadatas):
        return
    _WARNED_EMPTY.update(metadatas)
    warnings.warn(
        f"The app '{app.import_name}' has no models: its Flask-SQLAlchemy metadata "
        "holds no table, so create_all creates none in the test database, and any "
        "query on a model's table will fail with 'relation does not exist'. Model "
        "classes exist only once their module is imported: import your models module "
        "in the app factory (e.g. 'from . import models' before 'return app').",
        UserWarning,
        stacklevel=3,
    )
