"""Undoing what a FlaskDBTransactionTestCase test really committed.

Before a class's first test and after each test, each test database is put
back as the schema build left it (:mod:`flask_dbtestcase.databases.emptying`):
the tables the test wrote emptied, moved sequences reset, what it created
dropped, and with ``serialized_rollback`` the build's rows put back. The
build's state is read once per run and database (:func:`baseline_for`).

Session state a test leaves on a pooled connection of the app's engines
(a session-level advisory lock, a ``SET``, a temporary table, a
``PREPARE``, a ``LISTEN``) would outlive the test: the statements the
engines send are read as they go (a few substring tests), and an engine
that sent such a statement has its idle connections closed at the test's
end (:class:`SessionState`), so the next test gets fresh ones, made as in
production, with the app's connect hooks.
"""

from __future__ import annotations

import re
import typing as t
import weakref

import sqlalchemy as sa

from ..databases.emptying import (
    Baseline,
    changes,
    empty_written_call,
    restore_statement,
    take_baseline,
)
from ..databases.safety import check_test_database
from ..databases.urls import database_key
from ..databases.watch import PINNED_SETTING, Marks, is_watched
from .appkinds import AppDatabase
from .pinning import unpin_databases

if t.TYPE_CHECKING:
    from ..databases.lifecycle import TestDatabases

__all__ = ["Cleaner", "PutBack", "SessionState", "baseline_for", "database_groups", "put_back"]

#: The baselines of each run's test databases (by the run's databases object).
_BASELINES: weakref.WeakKeyDictionary[object, dict[tuple[object, ...], Baseline]] = (
    weakref.WeakKeyDictionary()
)

Group = tuple[sa.Engine, list[sa.Table]]


def database_groups(
    schema: t.Iterable[tuple[t.Mapping[t.Any, sa.Engine], t.Mapping[t.Any, sa.MetaData]]],
    engines: t.Mapping[t.Any, sa.Engine],
) -> list[Group]:
    """Return each database of ``engines`` once, with the app's tables on it.

    :param schema: the app's engines and tables, by bind key, for each of its extensions.
    :param engines: the class's engines, by bind key (the databases it may use).
    """
    groups: dict[tuple[object, ...], Group] = {}
    for _, metadatas in schema:
        for key, metadata in metadatas.items():
            engine = engines.get(key)
            if engine is None or not metadata.tables:
                continue
            group = groups.setdefault(database_key(engine.url), (engine, []))
            group[1].extend(table for table in metadata.tables.values() if table not in group[1])
    return list(groups.values())


#: The execution option of the clean-up's own connections (its statements leave no state).
_PUT_BACK = "flask_dbtestcase_put_back"


def _autocommit(engine: sa.Engine) -> sa.Connection:
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT", **{_PUT_BACK: True})


def baseline_for(
    run_databases: object, engine: sa.Engine, tables: list[sa.Table], marks: Marks, start: bool
) -> Baseline:
    """Return what the build left in the database of ``engine`` (read once per run).

    :param run_databases: the run's test databases (the baselines live as long).
    :param engine: an engine on the database.
    :param tables: the app's tables on it; read again if one is new.
    :param marks: the run's marks: at a class's start, read again if they grew
        (another app's tables were built since: they are not the test's to drop).
    :param start: a class's start, where only the framework has built anything.
    """
    known = _BASELINES.setdefault(run_databases, {})
    key = database_key(engine.url)
    baseline = known.get(key)
    preparer = engine.dialect.identifier_preparer
    names = {preparer.format_table(table) for table in tables}
    if (
        baseline is None
        or not names <= set(baseline.tables.values()) | baseline.missing
        or (start and baseline.builds != len(marks))
    ):
        with _autocommit(engine) as conn:
            baseline = known[key] = take_baseline(conn, tables, baseline)
        baseline.builds = len(marks)
    return baseline


class Cleaner:
    """The clean-up of one database: its engine, the app's tables on it, its own connection.

    :param engine: an engine on the database (the class's).
    :param tables: the app's tables on it.

    The connection is held for the class, in AUTOCOMMIT; a superuser's is
    in the replica role for the whole class (no foreign key checks nor the
    app's triggers while emptying), set once: changing the role throws away
    the session's cached plans, the clean-up's own included. Its writes are
    not logged by the watch (:data:`~..databases.watch.PINNED_SETTING`).
    """

    def __init__(self, engine: sa.Engine, tables: list[sa.Table]) -> None:
        self.engine, self.tables = engine, tables
        self.conn: sa.Connection | None = None
        self.replica = False
        #: What the build left, as the class's start found it (its tables do not change).
        self.baseline: Baseline | None = None

    def connection(self, baseline: Baseline) -> sa.Connection:
        """Return the held connection, opened on first use (in the role ``baseline`` allows)."""
        if self.conn is None:
            self.conn = _autocommit(self.engine)
            settings = [f"SET {PINNED_SETTING} = on"]
            if baseline.replica:
                settings.append("SET session_replication_role = replica")
            self.conn.exec_driver_sql(";\n".join(settings))
            self.replica = baseline.replica
        return self.conn

    def close(self) -> None:
        """Close the held connection (its session settings go with it, never back to the pool)."""
        if self.conn is not None:
            conn, self.conn = self.conn, None
            if not conn.invalidated:
                conn.invalidate()
            conn.close()


def put_back(
    run_databases: object,
    cleaners: list[Cleaner],
    marks: Marks,
    serialized: bool,
    start: bool,
) -> None:
    """Put each database of ``cleaners`` back as the build left it.

    :param run_databases: the run's test databases.
    :param cleaners: the databases, the app's tables on them, their connections.
    :param marks: the run's marks (which databases have the watch).
    :param serialized: put the build's rows back (``serialized_rollback``).
    :param start: a class's start: look at every table, not only those the log names.
        The databases are checked to be test databases, and what the build left
        is looked up, then; a class's engines and tables do not change, so its
        tests' clean-ups reuse both.
    """
    for cleaner in cleaners:
        engine = cleaner.engine
        if start:
            check_test_database(engine.url, "empty the tables")
        if start or cleaner.baseline is None:
            cleaner.baseline = baseline_for(run_databases, engine, cleaner.tables, marks, start)
        baseline = cleaner.baseline
        watched = is_watched(engine.url, marks)
        try:
            _put_back_one(cleaner, baseline, watched, serialized, start)
        except sa.exc.DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # Its connection was lost (a test ended it, the server restarted): once
            # more, on a new one.
            cleaner.close()
            _put_back_one(cleaner, baseline, watched, serialized, start)


def _put_back_one(
    cleaner: Cleaner, baseline: Baseline, watched: bool, serialized: bool, start: bool
) -> None:
    """Put one database back on its cleaner's connection (see :func:`put_back`)."""
    conn = cleaner.connection(baseline)
    if watched and cleaner.replica == baseline.replica and not (start or serialized):
        try:  # the usual case: one round trip
            if conn.exec_driver_sql(empty_written_call(baseline)).scalar() == "done":
                return
        except sa.exc.IntegrityError:  # a foreign key the models do not name
            pass
    found = changes(conn, baseline, watched, probe=start)
    if start and serialized and found.written is not None:
        found.written |= set(baseline.seeds)
    statement = restore_statement(baseline, found, watched, serialized)
    if statement is None:
        return
    try:
        conn.exec_driver_sql(statement)
    except sa.exc.IntegrityError:  # a foreign key the models do not name
        conn.exec_driver_sql(
            t.cast(str, restore_statement(baseline, found, watched, serialized, True))
        )


#: A statement that leaves state on its session (read case-insensitively).
_SESSION_STATE = re.compile(
    r"advisory|\bprepare\b|\blisten\b|\btemp(orary)?\b|set_config|\bwith\s+hold\b"
    r"|(^|;)\s*(re)?set\b|\bdiscard\b|\bdeclare\b",
    re.IGNORECASE,
)


class SessionState:
    """Close the idle connections of an engine that left session state, at a test's end.

    :param engines: the class's engines.
    """

    def __init__(self, engines: t.Iterable[sa.Engine]) -> None:
        self.engines = list(dict.fromkeys(engines))
        self.dirty: set[sa.Engine] = set()
        for engine in self.engines:
            sa.event.listen(engine, "before_cursor_execute", self._read)

    def _read(self, conn: sa.Connection, cursor: t.Any, statement: t.Any, *args: t.Any) -> None:
        if (
            isinstance(statement, str)
            and not conn.get_execution_options().get(_PUT_BACK)
            and _SESSION_STATE.search(statement)
        ):
            self.dirty.add(conn.engine)

    def end_test(self) -> None:
        """Close the idle connections of the engines that sent such a statement."""
        while self.dirty:
            self.dirty.pop().dispose()

    def stop(self) -> None:
        """Stop reading the engines' statements (the class's end)."""
        self.end_test()
        for engine in self.engines:
            sa.event.remove(engine, "before_cursor_execute", self._read)


class PutBack:
    """What a FlaskDBTransactionTestCase class puts back: its databases and engines.

    Made, it routes the class's databases to real connections (until :meth:`stop`).

    :param run_databases: the run's test databases (``marks``: which have the watch).
    :param database: the app's database layer (its engines and tables).
    :param engines: the class's engines, by bind key.
    :param serialized: put the build's rows back (``serialized_rollback``).
    """

    def __init__(
        self,
        run_databases: TestDatabases,
        database: AppDatabase,
        engines: t.Mapping[t.Any, sa.Engine],
        serialized: bool,
    ) -> None:
        self.run_databases, self.marks = run_databases, run_databases.marks
        self.serialized = serialized
        self.unpin = unpin_databases(engines.values())
        groups = database_groups(database.schema(), engines)
        self.cleaners = [Cleaner(engine, tables) for engine, tables in groups]
        self.session_state = SessionState(engines.values())

    def start_class(self) -> None:
        """Put the databases back before the class's first test (whatever came before)."""
        put_back(self.run_databases, self.cleaners, self.marks, self.serialized, start=True)

    def end_test(self) -> None:
        """Put the databases back after a test: session state first, then the tables."""
        self.session_state.end_test()
        put_back(self.run_databases, self.cleaners, self.marks, self.serialized, start=False)

    def stop(self) -> None:
        """Close the clean-up's connections, stop reading the engines' statements, and
        pin the databases again (the class's end)."""
        try:
            for cleaner in self.cleaners:
                cleaner.close()
            self.session_state.stop()
        finally:
            self.unpin()
