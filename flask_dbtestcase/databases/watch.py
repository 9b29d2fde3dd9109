"""The watch on a test database: writes that reach it past the shared connection.

A test may write to its database through a connection flask-dbtestcase did
not pin (the app's own ``sa.create_engine``, a second app built inside the
test, a raw ``psycopg2.connect``): such a write is really committed, and
every later test sees it. When the schema is built, each of the app's tables
gets a statement-level trigger, ``AFTER INSERT OR UPDATE OR DELETE OR
TRUNCATE``, that records the table and the transaction in a small log
(:data:`LOG_TABLE`) — unless the statement runs on a pinned connection,
which opens with the session setting :data:`PINNED_SETTING` on (its
startup options: no statement, never rolled back). On the pinned connection
the trigger's ``WHEN`` is all it costs.

:data:`CHECK_STATEMENT` raises SQLSTATE :data:`ESCAPE_SQLSTATE` when the log
holds anything, with the writes as JSON in its message; the pinned
connection sends it with the test's ``ROLLBACK TO`` (see
:mod:`flask_dbtestcase.isolation.writecheck`). Everything lives in a schema of
its own, :data:`WATCH_SCHEMA`, so a migration check or ``search_path``
never sees it.

A test that got past the savepoints may also leave rows, DDL or sequences
behind that emptying the tables does not undo: the test case then marks the
database (:data:`MARK_COMMENT`, a comment on it, so that the mark crosses
``--parallel`` workers and survives the connection), and ``--keepdb`` drops
a marked database instead of keeping it (:func:`drop_escaped_databases`).
This module is the database's side of writes that got past the test
transaction; :mod:`flask_dbtestcase.isolation` names them on the connection's
side, :mod:`flask_dbtestcase.cases.recovery` cleans up after them.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from sqlalchemy.engine import URL

from .creation import destroy_test_database
from .maintenance import connect_maintenance
from .safety import check_test_database
from .urls import database_key

__all__ = [
    "CHECK_STATEMENT",
    "CLEAR_STATEMENT",
    "ESCAPE_SQLSTATE",
    "LAST_VALUE",
    "LOG_TABLE",
    "MARK",
    "MARK_COMMENT",
    "Marks",
    "PINNED_SETTING",
    "WATCH_SCHEMA",
    "WATCH_VERSION",
    "drop_escaped_databases",
    "install_statements",
    "is_marked",
    "is_watched",
    "made_since",
    "note_watched",
    "pinned_options",
]

#: The schema of the watch's log and functions, in each test database.
WATCH_SCHEMA = "flask_dbtestcase"
#: The log of writes that got past the pinned connection.
LOG_TABLE = f"{WATCH_SCHEMA}.escapes"
#: The session setting a pinned connection opens with: its writes are not logged.
PINNED_SETTING = "flask_dbtestcase.pinned"
#: Changes when the DDL below changes: a kept database gets it again.
WATCH_VERSION = "watch-2"
#: The SQLSTATE :data:`CHECK_STATEMENT` raises when the log holds a write.
ESCAPE_SQLSTATE = "FD001"
#: Raises :data:`ESCAPE_SQLSTATE` if a write got past the pinned connection.
CHECK_STATEMENT = f"SELECT {WATCH_SCHEMA}.check_escapes()"
#: Forgets the writes logged so far (real commits that were legitimate, or cleaned up).
CLEAR_STATEMENT = f"DELETE FROM {LOG_TABLE}"

#: A sequence's last value (NULL before its first ``nextval``), for the row ``c`` of
#: ``pg_class``. (CASE: the filters may run in any order, and only a sequence has one.)
LAST_VALUE = "CASE WHEN c.relkind = 'S' THEN pg_sequence_last_value(c.oid) END"


def made_since(hwm: object) -> str:
    """Return the condition that anything was made after the OID ``hwm`` (three index lookups).

    A table, view, sequence, type or schema made since has a higher OID (a
    temporary table counts, too).

    :param hwm: the highest OID of the build: a number, or a name in a function's SQL.
    """
    return (
        f"(SELECT max(oid) FROM pg_class) > {hwm} OR (SELECT max(oid) FROM pg_type) > {hwm} "
        f"OR (SELECT max(oid) FROM pg_namespace WHERE nspname !~ '^pg_') > {hwm}"
    )


#: The trigger of each app table.
_TRIGGER = "flask_dbtestcase_watch"

_SETUP = [
    f"CREATE SCHEMA IF NOT EXISTS {WATCH_SCHEMA}",
    f"CREATE TABLE IF NOT EXISTS {LOG_TABLE} (relation text NOT NULL, "
    "operation text NOT NULL, txid bigint NOT NULL DEFAULT txid_current(), "
    "at timestamptz NOT NULL DEFAULT clock_timestamp())",
    f"CREATE OR REPLACE FUNCTION {WATCH_SCHEMA}.record_escape() RETURNS trigger "
    "LANGUAGE plpgsql AS $fdt$BEGIN "
    f"INSERT INTO {LOG_TABLE} (relation, operation) VALUES (TG_RELID::regclass::text, TG_OP); "
    "RETURN NULL; END$fdt$",
    f"CREATE OR REPLACE FUNCTION {WATCH_SCHEMA}.check_escapes() RETURNS void "
    "LANGUAGE plpgsql AS $fdt$DECLARE found text; BEGIN "
    "SELECT jsonb_build_object('writes', jsonb_agg(DISTINCT jsonb_build_array(operation, "
    "relation)), 'transactions', count(DISTINCT txid))::text INTO found "
    f"FROM {LOG_TABLE} HAVING count(*) > 0; "
    f"IF found IS NOT NULL THEN RAISE EXCEPTION USING ERRCODE = '{ESCAPE_SQLSTATE}', "
    "MESSAGE = found; END IF; END$fdt$",
    # FlaskDBTransactionTestCase's clean-up after a test, in one round trip
    # (:func:`flask_dbtestcase.databases.emptying.empty_written_call`): unless
    # something was made since the build ('made') or a logged table is not one
    # of ``tables`` ('unknown'), empty the logged tables (``tables`` children
    # first, in one statement: foreign keys are checked at its end), clear the
    # log and reset the sequences that moved ('done'). The caller's session
    # decides the role (a superuser's clean-up runs as a replica).
    f"CREATE OR REPLACE FUNCTION {WATCH_SCHEMA}.empty_written(tables oid[], "
    "sequences oid[], starts bigint[], hwm oid) RETURNS text "
    "LANGUAGE plpgsql AS $fdt$DECLARE made boolean; written oid[]; statement text; BEGIN "
    f"SELECT {made_since('hwm')}, "
    f"(SELECT array_agg(DISTINCT to_regclass(relation)::oid) FROM {LOG_TABLE}) "
    "INTO made, written; "
    "IF made THEN RETURN 'made'; END IF; "
    "IF written IS NOT NULL THEN "
    # (a NULL, a table dropped since, is in no array)
    "IF NOT written <@ tables THEN RETURN 'unknown'; END IF; "
    # (no percent sign: a driver given parameters would read it as a placeholder)
    "SELECT 'WITH ' || string_agg('d' || x.i || ' AS (DELETE FROM ' || x.t::regclass || ')', "
    "', ' ORDER BY x.i) || ' SELECT 1' INTO statement "
    "FROM unnest(tables) WITH ORDINALITY AS x(t, i) WHERE x.t = ANY(written); "
    f"EXECUTE statement; DELETE FROM {LOG_TABLE}; END IF; "
    "PERFORM setval(s.oid::regclass, s.start, false) FROM (SELECT c.oid, x.start, "
    f"{LAST_VALUE} AS value "
    "FROM unnest(sequences, starts) AS x(oid, start) JOIN pg_class c ON c.oid = x.oid) s "
    "WHERE s.value IS NOT NULL; "
    "RETURN 'done'; END$fdt$",
]


def install_statements(tables: t.Iterable[str]) -> list[str]:
    """Return the DDL that puts the watch on ``tables`` (idempotent).

    Tables that do not exist, or are not plain tables, are left out.

    :param tables: the app's tables, quoted and qualified as the dialect formats them.
    """
    names = ", ".join("'" + name.replace("'", "''") + "'" for name in sorted(set(tables)))
    if not names:
        return list(_SETUP)
    create = (
        f"'CREATE TRIGGER {_TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ' "
        "|| name || ' FOR EACH STATEMENT WHEN (current_setting(''"
        f"{PINNED_SETTING}'', true) IS DISTINCT FROM ''on'') EXECUTE PROCEDURE "
        f"{WATCH_SCHEMA}.record_escape()'"
    )
    triggers = (
        "DO $fdt$DECLARE name text; BEGIN FOREACH name IN ARRAY ARRAY["
        f"{names}]::text[] LOOP IF EXISTS (SELECT FROM pg_class WHERE oid = "
        "to_regclass(name) AND relkind = 'r') AND NOT EXISTS (SELECT FROM pg_trigger "
        f"WHERE tgrelid = to_regclass(name) AND tgname = '{_TRIGGER}') THEN "
        f"EXECUTE {create}; END IF; END LOOP; END$fdt$"
    )
    return [*_SETUP, triggers]


def pinned_options(cparams: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Return a pinned connection's arguments: ``cparams``, with :data:`PINNED_SETTING` on.

    The setting goes in libpq's startup ``options``, after any the app gave.

    :param cparams: the dialect's connection keyword arguments.
    """
    options = f"{cparams.get('options') or ''} -c {PINNED_SETTING}=on".strip()
    return {**cparams, "options": options}


#: What a process built or found in its test databases (tables, the watch),
#: each as a tuple: owned by the run's test databases, handed down to whoever builds.
Marks = set[tuple[object, ...]]


def note_watched(url: sa.URL, marks: Marks) -> None:
    """Note that the database at ``url`` has the watch (its check may be sent).

    :param url: the test database.
    :param marks: the run's marks.
    """
    marks.add((*database_key(url), WATCH_VERSION))


def is_watched(url: sa.URL, marks: Marks) -> bool:
    """Tell whether this run put the watch on the database at ``url``, or found it.

    :param url: the test database.
    :param marks: the run's marks.
    """
    return (*database_key(url), WATCH_VERSION) in marks


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
