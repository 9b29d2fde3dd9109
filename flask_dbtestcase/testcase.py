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
import os
import sys
import typing as t
import unittest

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_sqlalchemy import SQLAlchemy

from . import clients
from .appfactory import call_factory, default_factory_spec, read_project_settings, resolve_factory
from .database import (
    bind_database_url,
    check_test_database,
    create_test_database,
    database_exists,
    make_url,
    render_url,
    same_database,
)
from .errors import ConfigurationError, UnsafeDatabaseError
from .fixtures import find_fixture, load_fixture
from .isolation import PinnedConnection, PinnedEngine, deny_engine, pin_engine
from .migrations import check_migrations, run_migrations
from .schema import ensure_tables
from .queries import QueryLog, capture_queries, num_queries_message

#: The runner hands the test database to the test classes through this variable.
DATABASE_ENV = "FLASK_DBTESTCASE_DATABASE_URL"

_process_database: sa.URL | None = None
_schemas_ready: set[tuple[t.Any, t.Any]] = set()
_bind_urls: dict[object, dict[str, t.Any]] = {}


def current_database_url() -> sa.URL:
    """The run's test database: the runner's, or this process's throwaway one."""
    global _process_database
    given = os.environ.get(DATABASE_ENV)
    if given:
        return make_url(given)
    if _process_database is None:
        from .server import process_server

        url = make_url(process_server().url("test_db"))
        create_test_database(url, interactive=False, autoclobber=True)
        _process_database = url
    return _process_database


def _use_psycopg2_for_plain_urls() -> None:
    """Let an app's ``postgresql://`` URLs load psycopg2, as SQLAlchemy 2.0 did.

    SQLAlchemy 2.1 maps the plain scheme to psycopg 3; only when that is not
    installed do we map it back, so an app's own config keeps working.
    """
    try:
        import psycopg  # noqa: F401
    except ImportError:
        from sqlalchemy.dialects import registry

        registry.register("postgresql", "sqlalchemy.dialects.postgresql.psycopg2", "PGDialect_psycopg2")


class _TestData:
    """A class attribute set by setUpTestData: each test gets its own attached copy.

    Django deep-copies such attributes per test; for SQLAlchemy objects the
    equivalent is ``session.merge(obj, load=False)`` into the test's session:
    a fresh persistent instance, built without a query.
    """

    def __init__(self, name: str, value: t.Any) -> None:
        self.name, self.value = name, value

    def __get__(self, instance: t.Any, owner: type) -> t.Any:
        if instance is None:
            return self.value
        memo = instance.__dict__.setdefault("_testdata_memo", {})
        if self.name not in memo:
            memo[self.name] = _attach(self.value, instance.session)
        return memo[self.name]


def _instances(value: t.Any) -> t.Iterator[t.Any]:
    if isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _instances(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _instances(item)
    else:
        state = sa.inspect(value, raiseerr=False)
        if state is not None and getattr(state, "mapper", None) is not None and state.key:
            yield value


def _attach(value: t.Any, session: t.Any) -> t.Any:
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(_attach(item, session) for item in value)
    if isinstance(value, dict):
        return {key: _attach(item, session) for key, item in value.items()}
    if next(_instances(value), None) is not None:
        return session.merge(value, load=False)
    return value


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
        """Build the app for this class. Override for full control."""
        spec = cls.__dict__.get("app_factory") or cls.app_factory or default_factory_spec()
        return call_factory(resolve_factory(spec), config)

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        # Registered first, so it runs last: drop what setUpClass hangs on the
        # class, or every finished class would keep its app and engines alive.
        cls.addClassCleanup(cls._forget_class_state, set(cls.__dict__))
        _use_psycopg2_for_plain_urls()
        main = current_database_url()
        key = cls._factory_key()
        app, db = cls._build_app(main, _bind_urls.get(key))
        if _bind_urls.get(key) is None and cls._stray_binds(app, db, main):
            # The app's binds still point at its own databases: rebuild it with a
            # test database for each, as the factory can only take them up front.
            cls._pop_context()
            _bind_urls[key] = cls._test_binds(app, main)
            app, db = cls._build_app(main, _bind_urls[key])
        cls._check_engines(db, main)
        cls._engines = cls._limit_to_databases(cls._engines)
        cls._create_tables(db)

    @classmethod
    def _limit_to_databases(cls, engines: dict[t.Any, sa.Engine]) -> dict[t.Any, sa.Engine]:
        """Keep the engines ``databases`` names; make the others refuse to connect."""
        if cls.databases == "__all__":
            return engines
        wanted = {cls.databases} if isinstance(cls.databases, str) else set(cls.databases)
        names = {("default" if key is None else key): key for key in engines}
        unknown = wanted - set(names)
        if unknown:
            raise ConfigurationError(
                f"{cls.__qualname__}.databases names {', '.join(sorted(map(repr, unknown)))}, "
                f"but the app's databases are {', '.join(sorted(map(repr, names)))} "
                "('default' is SQLALCHEMY_DATABASE_URI, the others are SQLALCHEMY_BINDS keys)."
            )
        for name, key in names.items():
            if name not in wanted:
                deny_engine(engines[key], name, cls.__qualname__)
        return {key: engine for name, key in names.items() if name in wanted for engine in [engines[key]]}

    @classmethod
    def _factory_key(cls) -> object:
        return (cls.__dict__.get("app_factory") or cls.app_factory, cls.create_app.__func__)  # type: ignore[attr-defined]

    @classmethod
    def _build_app(cls, main: sa.URL, binds: dict[str, t.Any] | None) -> tuple[Flask, SQLAlchemy]:
        config: dict[str, t.Any] = {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": main.render_as_string(hide_password=False),
        }
        if binds:
            config["SQLALCHEMY_BINDS"] = binds
        config.update(cls.config or {})
        app = cls.create_app(config)
        db = cls.db or app.extensions.get("sqlalchemy")
        if not isinstance(db, SQLAlchemy):
            raise ConfigurationError(
                f"The app built for {cls.__qualname__} has no Flask-SQLAlchemy "
                "extension. Did you forget to call 'db.init_app(app)' in the app "
                "factory? (Or set 'db = ...' on the test class.)"
            )
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
    def _stray_binds(cls, app: Flask, db: SQLAlchemy, main: sa.URL) -> bool:
        return any(
            key is not None and not same_database(engine.url, bind_database_url(main, key))
            for key, engine in cls._engines.items()
        )

    @classmethod
    def _test_binds(cls, app: Flask, main: sa.URL) -> dict[str, t.Any]:
        binds: dict[str, t.Any] = {}
        for key, value in (app.config.get("SQLALCHEMY_BINDS") or {}).items():
            url = bind_database_url(main, key)
            if not database_exists(url):
                create_test_database(url, interactive=False)
            rendered = url.render_as_string(hide_password=False)
            binds[key] = dict(value, url=rendered) if isinstance(value, dict) else rendered
        return binds

    @classmethod
    def _check_engines(cls, db: SQLAlchemy, main: sa.URL) -> None:
        for key, engine in cls._engines.items():
            expected = main if key is None else bind_database_url(main, key)
            if engine.dialect.driver != "psycopg2" or not same_database(engine.url, expected):
                what = "its database" if key is None else f"its bind {key!r}"
                raise UnsafeDatabaseError(
                    f"The app built for {cls.__qualname__} ignored the test "
                    f"configuration: {what} points at {render_url(engine.url)}, not at "
                    f"the test database {render_url(expected)}. Nothing was run "
                    "against it. Make the app factory apply the config mapping it "
                    "is given (app.config.update(config)) after loading its own "
                    "settings, and before calling db.init_app(app)."
                )
            check_test_database(engine.url, "run tests")

    @classmethod
    def _create_tables(cls, db: SQLAlchemy) -> None:
        settings = read_project_settings()
        schema = cls.schema or settings.get("schema") or "create_all"
        if schema == "migrations":
            cls._migrate(settings.get("migrations_directory"))
            return
        if schema != "create_all":
            raise ConfigurationError(
                f"schema = {schema!r} is not a schema source: use 'create_all' (the "
                "default: create the models' tables) or 'migrations' (run the "
                "Flask-Migrate migrations)."
            )
        for key, metadata in db.metadatas.items():
            engine = cls._engines.get(key)
            if engine is None:
                continue
            mark = (render_url(engine.url), id(metadata))
            if mark not in _schemas_ready:
                ensure_tables(engine, metadata)
                _schemas_ready.add(mark)

    @classmethod
    def _migrate(cls, default_directory: str | None) -> None:
        """Run the migrations once per set of test databases."""
        directory = cls.migrations_directory or default_directory
        mark = (tuple(sorted(render_url(e.url) for e in cls._engines.values())), f"migrations:{directory}")
        if mark in _schemas_ready:
            return
        for engine in cls._engines.values():
            check_test_database(engine.url, "run the migrations")
        run_migrations(cls.app, directory)
        if cls.check_migrations:
            check_migrations(cls.app, directory)
        _schemas_ready.add(mark)

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

    def assertNumQueries(self, num: int, func: t.Callable[..., t.Any] | None = None, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Assert the block (or ``func(*args, **kwargs)``) sends exactly ``num`` statements."""
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
        """Assert the table (or a model's table) holds ``count`` rows matching ``filter_by``."""
        stmt = sa.select(sa.func.count()).select_from(model_or_table)
        if filter_by:
            stmt = stmt.filter_by(**filter_by)
        actual = self.session.execute(stmt).scalar_one()
        if actual != count:
            name = getattr(model_or_table, "__name__", None) or getattr(model_or_table, "name", model_or_table)
            where = f" matching {filter_by}" if filter_by else ""
            self.fail(f"{name} has {actual} rows{where}, expected {count}")

    # -- Django's wrapping of each test ----------------------------------------

    def __call__(self, result: unittest.TestResult | None = None) -> t.Any:
        return self._setup_and_call(result)

    def debug(self) -> None:
        self._setup_and_call(None, debug=True)

    def _setup_and_call(self, result: t.Any, debug: bool = False) -> t.Any:
        method = getattr(self, self._testMethodName)
        skipped = getattr(type(self), "__unittest_skip__", False) or getattr(method, "__unittest_skip__", False)
        if not skipped:
            try:
                self._pre_setup()
            except Exception:
                if debug:
                    raise
                (result or self.defaultTestResult()).addError(self, sys.exc_info())
                return None
        outcome = super().debug() if debug else super().__call__(result)
        if not skipped:
            try:
                self._post_teardown()
            except Exception:
                if debug:
                    raise
                if result is not None:
                    result.addError(self, sys.exc_info())
        return outcome

    def _pre_setup(self) -> None:
        pass

    def _post_teardown(self) -> None:
        pass


class FlaskDBTestCase(_AppTestCase):
    """Each test runs in a transaction that is rolled back, Django's TestCase.

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
        cls._check_constraints = any(
            getattr(constraint, "deferrable", None)
            for metadata in cls.db.metadatas.values()  # type: ignore[union-attr]
            for table in metadata.tables.values()
            for constraint in table.constraints
        )
        cls._set_up_class_data()

    @classmethod
    def _set_up_class_data(cls) -> None:
        before = dict(cls.__dict__)
        cls._load_fixtures()
        cls.setUpTestData()
        cls._keep_test_data(before)

    @classmethod
    def _current_connections(cls) -> list[PinnedConnection]:
        return list({id(p.connection): p.connection for p in cls._pinned}.values())

    @classmethod
    def _keep_test_data(cls, before: dict[str, t.Any]) -> None:
        """Make setUpTestData's objects usable by every test (see :class:`_TestData`)."""
        assert cls.db is not None
        session = cls.db.session
        if session.new or session.dirty or session.deleted:
            session.commit()
        for name, value in list(cls.__dict__.items()):
            if name in before and before[name] is value:
                continue
            objects = list(_instances(value))
            if not objects:
                continue
            for obj in objects:
                state = sa.inspect(obj)
                if state.session is not None and state.expired_attributes:
                    session.refresh(obj)
            setattr(cls, name, _TestData(name, value))
        session.expunge_all()
        session.remove()

    @classmethod
    def _unpin(cls) -> None:
        for pinned in reversed(cls.__dict__.get("_pinned", [])):
            pinned.unpin()

    @classmethod
    def _end_class(cls) -> None:
        with contextlib.suppress(Exception):
            cls.db.session.remove()  # type: ignore[union-attr]
        for conn in cls.__dict__.get("_connections", []):
            conn.end_class()

    def _pre_setup(self) -> None:
        for conn in self._connections:
            conn.begin_test(self)

    def _post_teardown(self) -> None:
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
    """Tests that really commit, Django's TransactionTestCase.

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

    def _pre_setup(self) -> None:
        self._load_fixtures()

    def _post_teardown(self) -> None:
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
