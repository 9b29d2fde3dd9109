"""The test case classes: FlaskDBTestCase and FlaskDBTransactionTestCase.

Per class: make sure the test database exists, create the app against it,
push an app context, create the tables (once per database and schema for
the whole process), load ``fixtures`` and ``setUpTestData``. Per test:
:class:`FlaskDBTestCase` wraps the test in a savepoint of the class's
transaction (see :mod:`.isolation`); :class:`FlaskDBTransactionTestCase`
lets the test really commit and empties the tables afterwards.
"""

from __future__ import annotations

import contextlib
import sys
import types
import typing as t
import unittest

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy

from ..databases.safety import check_test_database
from ..isolation.engines import PinnedConnection, PinnedEngine, pin_engine
from ..state import STATE
from . import clients
from .factory import call_factory, default_factory_spec, resolve_factory
from .fixtures import find_fixture, load_fixture
from .queries import QueryLog, capture_queries, num_queries_message
from .testapp import (
    bind_test_databases,
    build_config,
    check_engines,
    create_schema,
    find_db,
    limit_to_databases,
    stray_binds,
)
from .testdata import keep_test_data
from .testdb import current_database_url

__all__ = ["FlaskDBTestCase", "FlaskDBTransactionTestCase"]

# The test binds of each app factory, found on its first class (see
# setUpClass), are in STATE.bind_urls.


class _AppTestCase(unittest.TestCase):
    """What both test case classes share: the app, its database and assertions."""

    app_factory: t.ClassVar[t.Any] = None
    config: t.ClassVar[dict[str, t.Any]] = {}
    db: t.ClassVar[SQLAlchemy | None] = None
    fixtures: t.ClassVar[list[str]] = []
    #: The databases this class may use: "__all__", or names from "default"
    #: (SQLALCHEMY_DATABASE_URI) and the SQLALCHEMY_BINDS keys, as Django's.
    databases: t.ClassVar[str | t.Collection[str]] = "__all__"
    #: Where the schema comes from: "create_all" (default) or "migrations".
    schema: t.ClassVar[str | None] = None
    migrations_directory: t.ClassVar[str | None] = None
    #: With schema = "migrations": fail when the models have unmigrated changes.
    check_migrations: t.ClassVar[bool] = False

    app: t.ClassVar[Flask]
    _app_context: t.ClassVar[t.Any]
    _engines: t.ClassVar[dict[t.Any, sa.Engine]]

    @classmethod
    def create_app(cls, config: dict[str, t.Any]) -> Flask:
        """Build the app for this class. Override for full control.

        :param config: the test configuration the app must apply.
        """
        spec = cls.__dict__.get("app_factory") or cls.app_factory or default_factory_spec()
        return call_factory(resolve_factory(spec), config)

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        # Registered first, so it runs last: drop what setUpClass hangs on the
        # class, or every finished class would keep its app and engines alive.
        cls.addClassCleanup(cls._forget_class_state, set(cls.__dict__))
        main = current_database_url()
        key = cls._factory_key()
        app, db = cls._build_app(main, STATE.bind_urls.get(key))
        if STATE.bind_urls.get(key) is None and stray_binds(cls._engines, main):
            # The app's binds still point at its own databases: rebuild it with a
            # test database for each, as the factory can only take them up front.
            cls._pop_context()
            STATE.bind_urls[key] = bind_test_databases(app, main)
            app, db = cls._build_app(main, STATE.bind_urls[key])
        check_engines(cls._engines, main, cls.__qualname__, app)
        cls._engines = limit_to_databases(cls._engines, cls.databases, cls.__qualname__)
        create_schema(
            app, db, cls._engines, cls.schema, cls.migrations_directory, cls.check_migrations
        )

    @classmethod
    def _factory_key(cls) -> object:
        create_app = t.cast(types.MethodType, cls.create_app)  # a classmethod, bound to cls
        return (cls.__dict__.get("app_factory") or cls.app_factory, create_app.__func__)

    @classmethod
    def _build_app(cls, main: sa.URL, binds: dict[str, t.Any] | None) -> tuple[Flask, SQLAlchemy]:
        app = cls.create_app(build_config(main, binds, cls.config or {}))
        db = find_db(app, cls.db, cls.__qualname__)
        clients.install(app)
        cls.app, cls.db = app, db
        cls._app_context = app.app_context()
        cls._app_context.push()
        cls.addClassCleanup(cls._pop_context)
        cls._engines = dict(db.engines)
        return app, db

    @classmethod
    def _forget_class_state(cls, before: set[str]) -> None:
        for name in ("app", "db", "_engines", "_pinned", "_connections", "_app_context"):
            if name not in before and name in cls.__dict__:
                delattr(cls, name)

    @classmethod
    def _pop_context(cls) -> None:
        ctx = cls.__dict__.get("_app_context")
        if ctx is not None:
            del cls._app_context
            with contextlib.suppress(Exception):
                ctx.pop()

    @classmethod
    def _tables(cls) -> dict[str, tuple[sa.Table, t.Any]]:
        assert cls.db is not None
        tables: dict[str, tuple[sa.Table, t.Any]] = {}
        for key, metadata in cls.db.metadatas.items():
            for table in metadata.tables.values():
                tables[table.fullname] = (table, key)
                tables.setdefault(table.name, (table, key))
        return tables

    @classmethod
    def _load_fixtures(cls) -> None:
        if not cls.fixtures:
            return
        assert cls.db is not None
        tables = cls._tables()
        session = cls.db.session
        for name in cls.fixtures:
            load_fixture(find_fixture(name, cls), tables, session)
        session.commit()

    # -- inside a test ------------------------------------------------------

    @property
    def session(self) -> t.Any:
        """``db.session`` as the test sees it (its app context's session)."""
        assert self.db is not None
        return self.db.session

    @property
    def client(self) -> FlaskClient:
        """A Flask test client; each request gets its own app context and session."""
        client = self.__dict__.get("_client")
        if client is None:
            client = self.__dict__["_client"] = self.app.test_client()
        return client

    def _remove_session(self) -> None:
        """Close the test's session (the one scoped to the class's app context)."""
        assert self.db is not None
        session = self.db.session.registry.registry.pop(id(self._app_context), None)
        if session is not None:
            session.close()

    @contextlib.contextmanager
    def captureQueries(self) -> t.Iterator[QueryLog]:
        """Yield the list of statements the block sends, as Django's CaptureQueriesContext."""
        with capture_queries(self._engines.values()) as log:
            yield log

    def assertNumQueries(
        self, num: int, func: t.Callable[..., t.Any] | None = None, *args: t.Any, **kwargs: t.Any
    ) -> t.Any:
        """Assert the block (or ``func(*args, **kwargs)``) sends exactly ``num`` statements.

        Without ``func``, return a context manager for a ``with`` block.

        :param num: the number of statements expected.
        :param func: called with ``args`` and ``kwargs``; its result is returned.
        """
        context = self._num_queries(num)
        if func is None:
            return context
        with context:
            return func(*args, **kwargs)

    @contextlib.contextmanager
    def _num_queries(self, num: int) -> t.Iterator[QueryLog]:
        with self.captureQueries() as log:
            yield log
        if len(log) != num:
            self.fail(num_queries_message(log, num))

    def assertRowCount(self, model_or_table: t.Any, count: int, **filter_by: t.Any) -> None:
        """Assert the table (or a model's table) holds ``count`` rows matching ``filter_by``.

        :param model_or_table: a model class or a table.
        :param count: the number of rows expected.
        :param filter_by: column values the rows must have.
        """
        stmt = sa.select(sa.func.count()).select_from(model_or_table)
        if filter_by:
            stmt = stmt.filter_by(**filter_by)
        actual = self.session.execute(stmt).scalar_one()
        if actual != count:
            name = getattr(model_or_table, "__name__", None) or getattr(
                model_or_table, "name", model_or_table
            )
            where = f" matching {filter_by}" if filter_by else ""
            self.fail(f"{name} has {actual} rows{where}, expected {count}")

    # -- Django's wrapping of each test ----------------------------------------

    def __call__(self, result: unittest.TestResult | None = None) -> t.Any:
        return self._setup_and_call(result)

    def debug(self) -> None:
        self._setup_and_call(None, debug=True)

    def _setup_and_call(self, result: t.Any, debug: bool = False) -> t.Any:
        method = getattr(self, self._testMethodName)
        skipped = getattr(type(self), "__unittest_skip__", False) or getattr(
            method, "__unittest_skip__", False
        )
        if not skipped:
            try:
                self.pre_setup()
            except Exception:
                if debug:
                    raise
                (result or self.defaultTestResult()).addError(self, sys.exc_info())
                return None
        outcome = super().debug() if debug else super().__call__(result)
        if not skipped:
            try:
                self.post_teardown()
            except Exception:
                if debug:
                    raise
                if result is not None:
                    result.addError(self, sys.exc_info())
        return outcome

    def pre_setup(self) -> None:
        """Isolate one test: called before ``setUp`` (Django's ``_pre_setup``)."""

    def post_teardown(self) -> None:
        """Undo one test: called after ``tearDown`` (Django's ``_post_teardown``)."""


class FlaskDBTestCase(_AppTestCase):
    """Run each test in a transaction that is rolled back, as Django's TestCase does.

    ``setUpTestData`` and ``fixtures`` run once per class, in the class's
    transaction; every test starts from exactly that state.
    """

    _pinned: t.ClassVar[list[PinnedEngine]]
    _connections: t.ClassVar[list[PinnedConnection]]
    _check_constraints: t.ClassVar[bool]

    @classmethod
    def setUpTestData(cls) -> None:
        """Create data once for the whole class. Every test starts from it."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls._pinned = []
        cls.addClassCleanup(cls._unpin)
        for engine in cls._engines.values():
            cls._pinned.append(pin_engine(engine))
        cls._connections = cls._current_connections()
        cls.addClassCleanup(cls._end_class)
        assert cls.db is not None  # set by super().setUpClass()
        cls._check_constraints = any(
            getattr(constraint, "deferrable", None)
            for metadata in cls.db.metadatas.values()
            for table in metadata.tables.values()
            for constraint in table.constraints
        )
        cls._set_up_class_data()

    @classmethod
    def _set_up_class_data(cls) -> None:
        before = dict(cls.__dict__)
        cls._load_fixtures()
        cls.setUpTestData()
        assert cls.db is not None
        keep_test_data(cls, cls.db.session, before)

    @classmethod
    def _current_connections(cls) -> list[PinnedConnection]:
        """The shared connections of the class's engines, each once (engines may share one)."""
        return list({id(conn): conn for conn in (p.connection for p in cls._pinned)}.values())

    @classmethod
    def _unpin(cls) -> None:
        for pinned in reversed(cls.__dict__.get("_pinned", [])):
            pinned.unpin()

    @classmethod
    def _end_class(cls) -> None:
        with contextlib.suppress(Exception):
            assert cls.db is not None
            cls.db.session.remove()
        for conn in cls.__dict__.get("_connections", []):
            conn.end_class()

    def pre_setup(self) -> None:
        for conn in self._connections:
            conn.begin_test(self)

    def post_teardown(self) -> None:
        self._remove_session()
        first_error: Exception | None = None
        for conn in self._connections:
            try:
                conn.end_test(check_constraints=self._check_constraints)
            except Exception as exc:  # roll every connection back, report the first
                first_error = first_error or exc
        self._recover_lost_connections()
        if first_error is not None:
            raise first_error

    @classmethod
    def _recover_lost_connections(cls) -> None:
        """After a test closed or killed its connection: roll back, rebuild the class data.

        Whatever ran after the loss went to a new connection outside the test's
        savepoint; a real ROLLBACK undoes it, and the class's fixtures and
        setUpTestData run again so the next test starts from the same state.
        """
        if all(not conn.closed for conn in cls._connections):
            return
        current = cls._current_connections()
        for conn in current:
            conn.end_class()
        cls._connections = current
        cls._set_up_class_data()


class FlaskDBTransactionTestCase(_AppTestCase):
    """Let each test really commit, as Django's TransactionTestCase does.

    No wrapping transaction: use it for code that needs real commits (several
    connections, threads, LISTEN/NOTIFY, after-commit hooks). Before the first
    test and after each test every table is emptied and its sequences reset,
    so every test starts from the same state. ``fixtures`` are loaded before
    each test; ``setUpTestData`` is not used (as in Django).
    """

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls._empty_tables()  # earlier classes moved the sequences on

    def pre_setup(self) -> None:
        self._load_fixtures()

    def post_teardown(self) -> None:
        self._remove_session()
        self._empty_tables()

    @classmethod
    def _empty_tables(cls) -> None:
        assert cls.db is not None
        for key, metadata in cls.db.metadatas.items():
            engine = cls._engines.get(key)
            if engine is None or not metadata.tables:
                continue
            check_test_database(engine.url, "empty the tables")
            preparer = engine.dialect.identifier_preparer
            names = ", ".join(preparer.format_table(table) for table in metadata.sorted_tables)
            with engine.begin() as conn:
                conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
