"""The test case classes: FlaskDBTestCase and FlaskDBTransactionTestCase.

Per class: make sure the test database exists, create the app against it, push an
app context, create the tables (once per database and schema for the whole process),
load ``fixtures`` and ``setUpTestData``. Per test: :class:`FlaskDBTestCase` wraps the
test in a savepoint of the class's transaction (see :mod:`.isolation`);
:class:`FlaskDBTransactionTestCase` lets it really commit and puts the tables back after.
"""

from __future__ import annotations

import contextlib
import functools
import types
import typing as t

import sqlalchemy as sa
from flask import Flask

from ..errors import ConfigurationError, IsolationError
from ..isolation.engines import PinnedConnection
from ..isolation.waits import WAIT_TIMEOUT
from ..settings import Settings
from ..state import Run
from . import appstate, clients
from .appcache import AppKey, TestApp, build_test_app, cached_app
from .appkinds import AppDatabase, plain_settings
from .appschema import build_app_schema
from .factory import call_factory, resolve_factory
from .fixturefiles import load_fixtures
from .leftovers import finish_class
from .pinning import Pinned, pin_databases
from .queries import QueryAssertions, QueryLog, capture_queries, row_count_failure
from .recovery import check_unchecked, empty_escaped_databases, watch_connections
from .testapp import limit_to_databases
from .testdata import keep_test_data
from .testdb import ensure_run
from .transactional import PutBack
from .wrapping import WrappedTestCase

__all__ = ["FlaskDBTestCase", "FlaskDBTransactionTestCase"]


#: What setUpClass hangs on a class, dropped after it.
_CLASS_STATE = (
    "app", "db", "_engines", "_database", "_pinned", "_connections", "_app_context",
    "_test_app", "_class_ready", "_run", "_put_back", "_config_at_test_start",
)  # fmt: skip


class _AppTestCase(appstate.AppStateHooks, QueryAssertions, WrappedTestCase):
    """What both test case classes share: the app, its database and assertions."""

    app_factory: t.ClassVar[t.Any] = None
    config: t.ClassVar[dict[str, t.Any]] = {}
    #: The app's extension (Flask-SQLAlchemy or -Lite); found in ``app.extensions``.
    #: None for an app on plain SQLAlchemy (use ``self.session``).
    db: t.ClassVar[t.Any] = None
    #: A Lite or plain SQLAlchemy app's MetaData (default: the ``metadata`` setting).
    metadata: t.ClassVar[t.Any] = None
    #: The config key a plain app reads its URL from (default: the setting).
    database_url_key: t.ClassVar[str | None] = None
    fixtures: t.ClassVar[list[str]] = []
    #: The databases this class may use: "__all__", or names from "default"
    #: (SQLALCHEMY_DATABASE_URI) and the SQLALCHEMY_BINDS keys, as Django's.
    databases: t.ClassVar[str | t.Collection[str]] = "__all__"
    #: Where the schema comes from: "create_all" (default) or "migrations".
    schema: t.ClassVar[str | None] = None
    migrations_directory: t.ClassVar[str | None] = None
    #: With schema = "migrations": fail when the models have unmigrated changes
    #: (None: as the ``check_migrations`` setting says).
    check_migrations: t.ClassVar[bool | None] = None
    #: Build an app for this class alone, instead of sharing the one app of
    #: its factory and config with the other classes (for a class that
    #: changes the app itself: routes, handlers, extensions).
    own_app: t.ClassVar[bool] = False
    #: Binds that mirror another database, as Django's TEST ``MIRROR``:
    #: ``{"replica": "default"}`` gives the bind the default test database.
    mirrors: t.ClassVar[dict[str, str]] = {}
    #: How long a thread of the app waits for another's transaction on the
    #: shared connection before it is refused as a deadlock (seconds).
    thread_wait_timeout: t.ClassVar[float] = WAIT_TIMEOUT

    app: t.ClassVar[Flask]
    _test_app: t.ClassVar[TestApp]
    _database: t.ClassVar[AppDatabase]
    _class_ready: t.ClassVar[bool]
    _app_context: t.ClassVar[t.Any]
    _engines: t.ClassVar[dict[t.Any, sa.Engine]]
    _run: t.ClassVar[Run]
    _config_at_test_start: t.ClassVar[appstate.ConfigSnapshot]

    @classmethod
    def create_app(cls, config: dict[str, t.Any]) -> Flask:
        """Build the app for this class. Override for full control.

        :param config: the test configuration the app must apply.
        """
        spec = cls.__dict__.get("app_factory") or cls.app_factory
        if not spec:
            spec = ensure_run().settings.factory_spec
        return call_factory(resolve_factory(spec), config)

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        # Registered first, so it runs last: drop what setUpClass hangs on the
        # class, or every finished class would keep its app and engines alive.
        cls.addClassCleanup(cls._forget_class_state, set(cls.__dict__))
        run = cls._run = ensure_run()
        if cls.own_app:
            test_app = cls._build_test_app(run)
            cls.addClassCleanup(test_app.dispose)
        else:
            test_app = cls.shared_test_app(run)
        cls._test_app = test_app
        cls.app = test_app.app
        cls._database = test_app.database
        cls.db = cls.db if cls.db is not None else test_app.db
        cls._engines = test_app.engines
        # What the class's hooks change in app.config is undone after the class.
        cls.addClassCleanup(appstate.restore_config, cls.app, appstate.snapshot(cls.app.config))
        cls._app_context = test_app.app.app_context()
        cls._app_context.push()
        cls.addClassCleanup(cls._pop_context)
        cls._engines, undo = limit_to_databases(cls._engines, cls.databases, cls.__qualname__)
        for fn in undo:
            cls.addClassCleanup(fn)
        settings = run.settings
        build_app_schema(
            cls.app, cls._database, cls._engines, run.databases.marks, cls.__qualname__,
            cls.schema or settings.schema,
            cls.migrations_directory or settings.migrations_directory,
            settings.check_migrations if cls.check_migrations is None else cls.check_migrations,
        )  # fmt: skip
        cls._class_ready = True

    @classmethod
    def shared_test_app(cls, run: Run) -> TestApp:
        """Return the app this class shares with the classes that ask for the same one.

        Built on first use: one per factory, ``create_app``, ``config`` and
        mirrors on the run's test database, for the whole run. (The pytest
        plugin's ``app`` fixture is the one a class with no ``app_factory`` gets.)

        :param run: the run the class belongs to.
        """
        mirrors = cls._mirrors(run.settings)
        key = AppKey(
            cls._factory_key(), dict(cls.config or {}), run.databases.url, mirrors,
            plain_settings(run.settings, cls.metadata, cls.database_url_key),
        )  # fmt: skip
        return cached_app(run.databases, key, functools.partial(cls._build_test_app, run))

    @classmethod
    def _factory_key(cls) -> object:
        create_app = t.cast(types.MethodType, cls.create_app)  # a classmethod, bound to cls
        return (cls.app_factory, create_app.__func__)

    @classmethod
    def _build_test_app(cls, run: Run) -> TestApp:
        return build_test_app(
            cls.create_app,
            cls.config or {},
            cls.db,
            cls.__qualname__,
            run.databases,
            cls._mirrors(run.settings),
            plain_settings(run.settings, cls.metadata, cls.database_url_key),
        )

    @classmethod
    def _mirrors(cls, settings: Settings) -> dict[str, str]:
        """The binds that mirror another database: the project's, then the class's."""
        return {**(settings.mirrors or {}), **(cls.mirrors or {})}

    @classmethod
    def _forget_class_state(cls, before: set[str]) -> None:
        for name in _CLASS_STATE:
            if name not in before and name in cls.__dict__:
                delattr(cls, name)
        clients.ClientAttribute.forget(cls)

    @classmethod
    def _pop_context(cls) -> None:
        ctx = cls.__dict__.get("_app_context")
        if ctx is not None:
            del cls._app_context
            with contextlib.suppress(Exception):
                ctx.pop()

    @classmethod
    def _load_fixtures(cls) -> None:
        if cls.fixtures:
            load_fixtures(cls.fixtures, cls, cls._database)

    # -- inside a test ------------------------------------------------------

    @property
    def session(self) -> t.Any:
        """The app's session as the test sees it (its app context's ``db.session``)."""
        return self._database.current_session()

    client = clients.ClientAttribute()

    def _push_test_context(self) -> None:
        """Give the test an app context of its own: an empty ``g``, its own session."""
        cls = type(self)
        if not cls.__dict__.get("_class_ready"):
            name = cls.__qualname__
            raise ConfigurationError(
                f"{name} was not set up: its setUpClass does not call super().setUpClass(), "
                "so there is no app or test transaction for its tests. Add "
                f"'super().setUpClass()' as the first line of {name}.setUpClass."
            )
        if "_config_at_test_start" not in cls.__dict__:  # each test's end puts it back
            cls._config_at_test_start = appstate.snapshot(self.app.config)
        self._config_before = cls._config_at_test_start
        self._test_context = self.app.app_context()
        self._test_context.push()

    def _pop_test_context(self) -> None:
        """End the test's app context (its teardown handlers close its session)."""
        ctx = self.__dict__.pop("_test_context", None)
        try:
            if ctx is not None:
                ctx.pop()
        except AssertionError:  # Flask: "Popped wrong app context"
            raise ConfigurationError(
                f"{self.id()} left an app context or request context pushed (a "
                "'with app.app_context():' or 'with client:' block not closed, or a "
                "push() without its pop()). Close it before the test ends."
            ) from None
        finally:
            appstate.end_test(self, self.app, self.__dict__.pop("_config_before", None))

    @contextlib.contextmanager
    def captureQueries(self) -> t.Iterator[QueryLog]:
        """Yield the list of statements the block sends, as Django's CaptureQueriesContext."""
        with capture_queries(self._engines.values()) as log:
            yield log

    def assertRowCount(self, model_or_table: t.Any, count: int, **filter_by: t.Any) -> None:
        """Assert the table (or a model's table) holds ``count`` rows matching ``filter_by``.

        :param model_or_table: a model class or a table.
        :param count: the number of rows expected.
        :param filter_by: column values the rows must have.
        """
        failure = row_count_failure(self.session, model_or_table, count, filter_by)
        if failure:
            self.fail(failure)

    def pre_setup(self) -> None:
        """Isolate one test: called before ``setUp`` (Django's ``_pre_setup``)."""
        super().pre_setup()
        self._push_test_context()

    def post_teardown(self) -> None:
        """Undo one test: called after ``tearDown`` (Django's ``_post_teardown``)."""
        self._pop_test_context()
        super().post_teardown()


class FlaskDBTestCase(_AppTestCase):
    """Run each test in a transaction that is rolled back, as Django's TestCase does.

    ``setUpTestData`` and ``fixtures`` run once per class, in the class's
    transaction; every test starts from exactly that state.
    """

    _pinned: t.ClassVar[Pinned]
    _connections: t.ClassVar[list[PinnedConnection]]
    _check_constraints: t.ClassVar[bool]

    @classmethod
    def setUpTestData(cls) -> None:
        """Create data once for the whole class. Every test starts from it."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        # Every engine on these databases, whoever made it, gets the shared connection.
        pinned = pin_databases(
            cls._test_app.pins, cls._database, cls._engines.values(), cls.__qualname__
        )
        cls._pinned = pinned
        cls.addClassCleanup(pinned.stop)
        cls._connections = pinned.connections()
        before = f"what ran before the tests of {cls.__qualname__} (its set-up, other test cases)"
        watch_connections(pinned.databases(), cls._run.databases.marks, before)
        cls.addClassCleanup(cls._end_class)
        cls._check_constraints = cls._database.has_deferrable_constraints()
        cls._set_up_class_data()

    @classmethod
    def _set_up_class_data(cls) -> None:
        before = dict(cls.__dict__)
        cls._load_fixtures()
        cls.setUpTestData()
        keep_test_data(cls, cls._database.session, before)

    @classmethod
    def _end_class(cls) -> None:
        with contextlib.suppress(Exception):
            cls._database.session.remove()
        connections = cls.__dict__.get("_connections", [])
        found = check_unchecked(connections)  # after tests that sent no statement
        finish_class(connections, cls._pinned, cls._run.databases.marks, cls.__qualname__, found)
        if found:
            escaped = [conn for conn, _ in found]
            empty_escaped_databases(
                escaped,
                cls._pinned.databases(),
                cls._database.schema(),
                cls.__qualname__,
            )
            raise IsolationError(found[0][1])

    def pre_setup(self) -> None:
        super().pre_setup()
        try:
            for conn in self._connections:
                conn.begin_test(self)
        except BaseException:
            self._pop_test_context()
            raise

    def post_teardown(self) -> None:
        try:
            super().post_teardown()
        finally:
            self._end_test()

    def _end_test(self) -> None:
        first_error: Exception | None = None
        for conn in self._connections:
            try:
                conn.end_test(check_constraints=self._check_constraints)
            except Exception as exc:  # roll every connection back, report the first
                first_error = first_error or exc
        self._recover_lost_connections()
        if first_error is not None:
            raise first_error

    def _recover_lost_connections(self) -> None:
        """After a test lost or escaped its connection: roll back, rebuild the class data.

        Whatever ran after a loss went to a new connection outside the test's
        savepoint; a real ROLLBACK undoes it. What a test that got past the
        savepoints may have committed is emptied (:mod:`.escapes`). Then the
        class's fixtures and setUpTestData run again so the next test starts
        from the same state.
        """
        cls = type(self)
        escaped = [conn for conn in cls._connections if conn.take_escape() is not None]
        if not escaped and all(not conn.closed for conn in cls._connections):
            return
        current = cls._pinned.connections()
        for conn in current:
            conn.end_class()
        if escaped:
            databases, schema = cls._pinned.databases(), cls._database.schema()
            empty_escaped_databases(escaped, databases, schema, self.id())
        cls._connections = current
        watch_connections(cls._pinned.databases(), cls._run.databases.marks)  # a new one too
        cls._set_up_class_data()


class FlaskDBTransactionTestCase(_AppTestCase):
    """Let each test really commit, as Django's TransactionTestCase does.

    For code that needs real commits (several connections, threads,
    LISTEN/NOTIFY, after-commit hooks). Before the first test and after each
    test the database is put back as the schema build left it, tables empty
    (:mod:`.transactional`). ``fixtures`` are loaded before each test;
    ``setUpTestData`` is not used (as in Django).
    """

    #: Put back the rows the schema build left (a data migration's), as Django's.
    serialized_rollback: t.ClassVar[bool] = False
    _put_back: t.ClassVar[PutBack]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls._put_back = PutBack(cls._run.databases, cls._database, cls._engines,
                                cls.serialized_rollback)  # fmt: skip
        cls.addClassCleanup(cls._put_back.stop)  # (it gave the engines real connections)
        cls._put_back.start_class()

    def pre_setup(self) -> None:
        super().pre_setup()
        self._load_fixtures()

    def post_teardown(self) -> None:
        try:
            super().post_teardown()
        finally:
            self._put_back.end_test()
