"""The test case classes under pytest, and who may touch the database when.

The hidden test case classes (:mod:`.caseclasses`) have their class
lifecycle (``setUpClass`` ... ``doClassCleanups``) *opened* for a stretch
of tests; their ``pre_setup()`` / ``post_teardown()`` wrap each test.

A case is opened either for a run of consecutive tests of one kind (an
*ambient* case, closed before a test of another kind, a unittest class, or
at the end of the session), or for the scope of ``module_db`` / ``class_db``
(a *scoped* case: what fixtures of that scope write lives in the class's
transaction and is rolled back when the scope ends). One case is open at a
time: every engine of the test database shares one connection, and a class
transaction is all of that connection's transaction.

The engines of every app the plugin hands out refuse connections (as
pytest-django's "Database access not allowed") while a pytest test runs that
uses the plugin but did not ask for a database fixture, and outside a
test's savepoint unless a scoped case is collecting its shared data. A test
that does not use the plugin is not looked at.

A case's class-level state, its app context included, lives in a
:mod:`contextvars` context of its own: the class is set up while some test's
fixtures are (an ambient case) and outlives that test, so its app context
must not sit on the test's stack, above contexts other fixtures pushed
before (pytest-flask's request context) and pop after. Each test gets an
app context of the case's app around its own, pushed and popped by the
database fixture.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import sys
import typing as t
import weakref

import pytest

from ..errors import IsolationError
from .caseclasses import (
    DEFAULT_OPTIONS,
    SAVEPOINT,
    TRANSACTION,
    CaseClasses,
    CaseOptions,
    set_up_class,
    tear_down_class,
)

if t.TYPE_CHECKING:
    from flask import Flask
    from flask.ctx import AppContext

    from ..cases.appkinds import AppDatabase
    from .caseclasses import Case

__all__ = [
    "CaseManager",
    "DatabaseAccessNotAllowed",
    "OpenCase",
]


class DatabaseAccessNotAllowed(IsolationError):
    """A pytest test (or one of its fixtures) touched the database where nothing undoes it."""


@dataclasses.dataclass
class OpenCase:
    """A hidden test case class whose class lifecycle is open.

    :param cls: the class (``setUpClass`` done).
    :param app: its app.
    :param kind: SAVEPOINT or TRANSACTION.
    :param scope: ``"ambient"``, ``"module"`` or ``"class"``.
    :param class_context: the :mod:`contextvars` context the class is set up and torn down in.
    :param options: what its tests asked for beyond the kind.
    """

    cls: Case
    app: Flask
    kind: str
    scope: str
    #: Where the class lives: its set-up and teardown run in this context.
    class_context: contextvars.Context
    options: CaseOptions = DEFAULT_OPTIONS
    #: The scope's own app context and session (scoped cases).
    context: AppContext | None = None
    session: t.Any = None

    @property
    def db(self) -> t.Any:
        """The app's extension, as the class found it (None for a plain SQLAlchemy app)."""
        return self.cls.db

    @property
    def database(self) -> AppDatabase:
        """The app's database layer, as the class found it."""
        from ..cases.appkinds import app_database

        return app_database(self.app)


class CaseManager:
    """The plugin's cases and database access rules for one pytest session."""

    def __init__(self) -> None:
        self.open: OpenCase | None = None
        self._classes = CaseClasses()
        self._watched: weakref.WeakSet[t.Any] = weakref.WeakSet()
        self._dbs: weakref.WeakKeyDictionary[Flask, AppDatabase] = weakref.WeakKeyDictionary()
        #: The pytest test running now (None: none, or a unittest one).
        self.item: pytest.Item | None = None
        self.item_kind: str | None = None
        self.item_options = DEFAULT_OPTIONS
        #: A test's savepoint (or its real-commit test) is open.
        self.in_test = False
        self._internal = 0

    # -- which test runs -----------------------------------------------------

    def start_item(
        self, item: pytest.Item | None, kind: str | None, options: CaseOptions = DEFAULT_OPTIONS
    ) -> None:
        """Note the test about to be set up; close an ambient case of another kind or options.

        A test that does not use the database leaves the case open for the next one.

        :param item: the pytest test that uses the plugin (None: one that does not).
        :param kind: the database it asked for.
        :param options: what else it asked for (the marker's arguments).
        """
        self.item, self.item_kind = item, kind
        if self.open is not None and self.open.scope == "ambient" and kind is not None:
            if (kind, options) != (self.open.kind, self.open.options):
                self.close()

    def close_ambient(self) -> None:
        """Close an ambient case (before a unittest test, which has a class of its own)."""
        if self.open is not None and self.open.scope == "ambient":
            self.close()

    def end_item(self) -> None:
        """Note that the current test's teardown is over."""
        self.item = self.item_kind = None

    # -- database access -------------------------------------------------------

    @contextlib.contextmanager
    def internal(self) -> t.Iterator[None]:
        """Let the plugin's own work (set-up, rollbacks, emptying tables) through."""
        self._internal += 1
        try:
            yield
        finally:
            self._internal -= 1

    def db_for(self, app: Flask, check: t.Callable[[], AppDatabase]) -> AppDatabase:
        """Return the app's database layer: checked by ``check`` and its engines watched, once.

        :param app: an app the fixtures hand out.
        :param check: finds the app's database layer and checks its engines use the test database.
        """
        db = self._dbs.get(app)
        if db is None:
            db = check()
            self.watch(db.all_engines())
            self._dbs[app] = db
        return db

    def watch(self, engines: t.Iterable[t.Any]) -> None:
        """Make engines check, on every connect, that access is allowed.

        :param engines: the engines of an app the fixtures hand out.
        """
        from sqlalchemy import event

        for engine in engines:
            if engine not in self._watched:
                self._watched.add(engine)
                event.listen(engine, "engine_connect", self._check_access)

    def watch_app(self, app: t.Any) -> None:
        """Watch the engines of ``app`` if it is a Flask app with Flask-SQLAlchemy (else nothing).

        :param app: what the ``app`` fixture of a test that uses the plugin gave.
        """
        flask_sqlalchemy = sys.modules.get("flask_sqlalchemy")
        extensions = getattr(app, "extensions", None)
        db = extensions.get("sqlalchemy") if isinstance(extensions, dict) else None
        if flask_sqlalchemy is not None and isinstance(db, flask_sqlalchemy.SQLAlchemy):
            with app.app_context():
                self.watch(db.engines.values())

    def _check_access(self, conn: t.Any) -> None:
        item = self.item
        if item is None or self._internal or self.in_test:
            return
        if self.item_kind is None:
            raise DatabaseAccessNotAllowed(
                f"Database access not allowed: {item.nodeid} does not ask for a database "
                "fixture, so nothing would undo what it writes. Add the 'db' fixture to "
                "its arguments (or 'transactional_db' for code that must really commit), "
                "or mark it with @pytest.mark.flask_db."
            )
        if self.open is not None and self.open.scope != "ambient":
            return  # a module_db / class_db fixture collecting its shared data
        raise DatabaseAccessNotAllowed(
            f"Database access not allowed outside the test: while {item.nodeid} was being "
            "set up, a fixture of a wider scope than the test touched the database before "
            "the test's savepoint was opened, so what it wrote would stay for later tests. "
            "Create data shared by several tests in a module- or class-scoped fixture that "
            "asks for 'module_db' or 'class_db' (rolled back at the end of that scope), "
            "or per test in a fixture that asks for 'db'."
        )

    # -- cases -----------------------------------------------------------------

    def _open(self, app: Flask, kind: str, scope: str, options: CaseOptions) -> OpenCase:
        if self.open is not None:
            self.close()
        cls = self._classes.class_for(app, kind, options)
        class_context = contextvars.copy_context()
        with self.internal():
            class_context.run(set_up_class, cls)
        self.open = OpenCase(cls, app, kind, scope, class_context, options)
        return self.open

    def close(self) -> None:
        """Close the open case: ``tearDownClass`` and its class cleanups; raise their error."""
        case, self.open = self.open, None
        if case is None:
            return
        with self.internal():
            try:
                if case.context is not None:
                    with contextlib.suppress(Exception):
                        case.session.close()
                    case.context.pop()
            finally:
                case.class_context.run(tear_down_class, case.cls)
        errors = getattr(case.cls, "tearDown_exceptions", None) or []
        if errors:
            raise errors[0][1]

    def case_for_test(
        self, app: Flask, kind: str, nodeid: str, options: CaseOptions = DEFAULT_OPTIONS
    ) -> OpenCase:
        """Return the open case a test of ``kind`` on ``app`` runs in, opening one if needed.

        :param app: the test's app.
        :param kind: SAVEPOINT or TRANSACTION.
        :param nodeid: the test, for the messages.
        :param options: what else the test asked for (the marker's arguments).
        """
        case = self.open
        if case is not None and case.app is app and (case.kind, case.options) == (kind, options):
            return case
        if case is not None and case.scope != "ambient":
            if kind == TRANSACTION:
                what = "really commits (transactional_db)"
            elif case.app is not app:
                what = "uses another app than the shared data's"
            else:
                what = "limits its databases (@pytest.mark.flask_db(databases=...))"
            raise IsolationError(
                f"{nodeid} {what}, but it runs inside the scope of the shared data of "
                f"'{case.scope}_db', whose transaction stays open until that scope ends. "
                "Move the test out of that module or class."
            )
        return self._open(app, kind, "ambient", options)

    def open_scoped(self, app: Flask, scope: str, nodeid: str) -> OpenCase:
        """Open a case for the scope of ``module_db`` / ``class_db``, with its own app context.

        :param app: the app.
        :param scope: ``"module"`` or ``"class"``.
        :param nodeid: the scope's node, for the messages.
        """
        case = self.open
        if case is not None and case.scope != "ambient":
            raise IsolationError(
                f"'{scope}_db' was asked for in {nodeid} while the shared data of "
                f"'{case.scope}_db' is still open: shared data of one scope at a time is "
                "supported. Create the data of the module and of its classes at one "
                "scope (for example all with 'module_db'), or move the class to a module "
                "of its own."
            )
        case = self._open(app, SAVEPOINT, scope, DEFAULT_OPTIONS)
        case.context = app.app_context()
        case.context.push()
        case.session = case.database.session()
        return case

    def begin_test(self, case: OpenCase, nodeid: str) -> tuple[t.Any, AppContext]:
        """Wrap one test: its ``pre_setup()``; return the test case instance and its outer context.

        :param case: the case the test runs in.
        :param nodeid: the pytest test, which the instance's ``id()`` gives (for the messages).
        """
        test = case.cls("__init__")
        test.id = lambda: nodeid  # type: ignore[method-assign]  # what the messages name
        context = case.app.app_context()  # under the test's own, for the case's work after it
        context.push()
        try:
            with self.internal():
                if case.session is not None:
                    case.session.commit()  # what the scope's fixtures added is shared data
                test.pre_setup()
        except BaseException:
            context.pop()
            raise
        self.in_test = True
        return test, context

    def end_test(self, case: OpenCase, running: tuple[t.Any, AppContext]) -> None:
        """Undo one test: its ``post_teardown()``.

        :param case: the case the test ran in.
        :param running: what :meth:`begin_test` returned.
        """
        self.in_test = False
        test, context = running
        try:
            with self.internal():
                if case.session is not None:
                    # The scope's objects, expired: the next test loads them afresh.
                    case.session.rollback()
                test.post_teardown()
        finally:
            context.pop()
        if case.kind == SAVEPOINT:
            self._check_quiet_test(case, test)

    def _check_quiet_test(self, case: OpenCase, test: t.Any) -> None:
        """After a test that sent no statement: check for writes past the shared connection.

        A write found fails the test (:mod:`.quietwrites`): the case is closed
        (the shared data of a ``module_db`` / ``class_db`` scope too), what
        was committed emptied, and the next test opens a new case.
        """
        from ..cases.appcache import pins_of
        from ..cases.pinning import databases_of
        from ..cases.recovery import empty_escaped_databases
        from ..state import current_run
        from .quietwrites import check_quiet_test, escaped_databases

        run = current_run()
        if run is None:
            return
        pins = pins_of(run.databases)
        with self.internal():
            found = check_quiet_test(pins, lambda: databases_of(case.database.all_engines()), test)
            if not found:
                return
            escaped = [conn for conn, _ in found]
            database = case.database
            try:
                self.close()  # ends the class transaction: the emptying is committed
            finally:
                empty_escaped_databases(
                    escaped,
                    escaped_databases(escaped, pins, databases_of(database.all_engines())),
                    database.schema(),
                    test.id(),
                )
        message = found[0][1]
        if case.scope != "ambient":
            message += (
                f" The shared data of '{case.scope}_db' was rolled back with it: the "
                f"later tests of that {case.scope} run without it."
            )
        raise IsolationError(message)
