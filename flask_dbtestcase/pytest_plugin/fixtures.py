"""The plugin's fixtures (SPEC section 3).

``db`` and ``transactional_db`` wrap a test in the hidden test case classes
of :mod:`.cases` (through two hidden fixtures, which no project overrides);
``module_db`` and ``class_db`` open one for a whole scope, for data shared
by its tests. An autouse fixture, first of the test's function-scoped ones
(:mod:`.usage`), sets up the database a test asked for (directly, through
another fixture, or with the ``flask_db`` marker) and runs every test that
uses the app in a test request context (pytest-flask's, when it is
installed) over an app context of its own; what such a test changes in
``app.config`` is undone after it. A test that does not use the plugin
(:func:`.usage.usage_of`) is left alone, and the plugin's ``client``,
``config``, ``live_server`` and ``db_session`` give it another plugin's
fixture of that name when there is one.
"""

from __future__ import annotations

import contextlib
import typing as t

import pytest

from .caseclasses import SAVEPOINT, TRANSACTION
from .marker import check_databases
from .session import manager_of, session_database_of, user_errors
from .usage import usage_of

if t.TYPE_CHECKING:
    import sqlalchemy as sa
    from flask import Config, Flask
    from flask.ctx import RequestContext
    from flask.testing import FlaskClient

    from ..cases.appkinds import AppDatabase
    from ..cases.live import LiveServer
    from ..cases.queries import QueryLog
    from .casemanager import OpenCase

__all__ = [
    "app",
    "assert_max_num_queries",
    "assert_num_queries",
    "capture_queries",
    "class_db",
    "client",
    "config",
    "db",
    "db_session",
    "flask_dbtestcase_config",
    "flask_dbtestcase_database",
    "live_server",
    "make_request_ctx",
    "module_db",
    "transactional_db",
]

# -- the database and the app --------------------------------------------------


@pytest.fixture(scope="session")
def flask_dbtestcase_database(request: pytest.FixtureRequest) -> str:
    """The session's test database URL; created on first use, destroyed at the end."""
    with user_errors():
        return session_database_of(request.config).ensure()


@pytest.fixture(scope="session")
def flask_dbtestcase_config(
    request: pytest.FixtureRequest, flask_dbtestcase_database: str
) -> dict[str, t.Any]:
    """The test configuration (TESTING, the test database's URL): build your own app on it."""
    from .apps import test_config

    return test_config(session_database_of(request.config).run)


@pytest.fixture(scope="session")
def app(request: pytest.FixtureRequest, flask_dbtestcase_database: str) -> Flask:
    """The project's app on the test database: one per session."""
    from .apps import build_default_app

    with user_errors():
        return build_default_app(session_database_of(request.config).run)


def _db_of(request: pytest.FixtureRequest, app: Flask) -> AppDatabase:
    from .apps import checked_db

    def check() -> AppDatabase:
        request.getfixturevalue("flask_dbtestcase_database")
        with user_errors():
            return checked_db(app, session_database_of(request.config).run)

    return manager_of(request.config).db_for(app, check)


# -- one test's database ---------------------------------------------------------

#: The hidden fixtures that open a test's savepoint / its real-commit test.
_SAVEPOINT = "_flask_dbtestcase_savepoint"
_TRANSACTION = "_flask_dbtestcase_transaction"


def _wrap_test(request: pytest.FixtureRequest, app: Flask, kind: str) -> t.Iterator[OpenCase]:
    database = _db_of(request, app)
    manager = manager_of(request.config)
    usage = usage_of(request.node)
    with user_errors():
        if usage.marker is not None and usage.options.databases is not None:
            check_databases(usage.marker, usage.options.databases, database.engines)
        case = manager.case_for_test(app, kind, request.node.nodeid, usage.options)
        running = manager.begin_test(case, request.node.nodeid)
    try:
        yield case
    finally:
        with user_errors():
            manager.end_test(case, running)


@pytest.fixture
def _flask_dbtestcase_savepoint(request: pytest.FixtureRequest, app: Flask) -> t.Iterator[OpenCase]:
    yield from _wrap_test(request, app, SAVEPOINT)


@pytest.fixture
def _flask_dbtestcase_transaction(
    request: pytest.FixtureRequest, app: Flask
) -> t.Iterator[OpenCase]:
    yield from _wrap_test(request, app, TRANSACTION)


def _test_case(request: pytest.FixtureRequest) -> OpenCase:
    """Return the open case of the database the test asked for (a savepoint by default)."""
    kind = usage_of(request.node).kind
    case: OpenCase = request.getfixturevalue(_TRANSACTION if kind == TRANSACTION else _SAVEPOINT)
    return case


@pytest.fixture
def db(request: pytest.FixtureRequest, app: Flask) -> t.Any:
    """The app's extension (Flask-SQLAlchemy or -Lite; None for a plain SQLAlchemy app).

    Asking for it runs the test and its fixtures in a savepoint, rolled back.
    """
    return _test_case(request).db


@pytest.fixture
def transactional_db(request: pytest.FixtureRequest, app: Flask) -> t.Any:
    """The app's extension (None for a plain SQLAlchemy app); the test really commits,
    every table is emptied after."""
    case: OpenCase = request.getfixturevalue(_TRANSACTION)
    return case.db


@pytest.fixture
def db_session(request: pytest.FixtureRequest) -> t.Any:
    """The test's session: the app's own (``db.session``, or a plain app's scoped session)."""
    if "db_session" in usage_of(request.node).handed_over:
        return request.getfixturevalue("db_session")  # another plugin's
    return _test_case(request).database.current_session()


# -- shared data ------------------------------------------------------------------


def _scoped(request: pytest.FixtureRequest, app: Flask, scope: str) -> t.Iterator[t.Any]:
    _db_of(request, app)
    manager = manager_of(request.config)
    with user_errors():
        case = manager.open_scoped(app, scope, request.node.nodeid)
    try:
        yield case.db
    finally:
        if manager.open is case:
            with user_errors():
                manager.close()


@pytest.fixture(scope="module")
def module_db(request: pytest.FixtureRequest, app: Flask) -> t.Iterator[t.Any]:
    """For module-scoped fixtures: their data is shared by the module's tests, then rolled back."""
    yield from _scoped(request, app, "module")


@pytest.fixture(scope="class")
def class_db(request: pytest.FixtureRequest, app: Flask) -> t.Iterator[t.Any]:
    """For class-scoped fixtures: their data is shared by the class's tests, then rolled back."""
    yield from _scoped(request, app, "class")


@pytest.fixture(autouse=True)
def _flask_dbtestcase_test(request: pytest.FixtureRequest) -> t.Iterator[None]:
    usage = usage_of(request.node)
    if not usage.uses:
        yield
        return
    if usage.kind is not None:  # before the test's other function-scoped fixtures
        request.getfixturevalue(_TRANSACTION if usage.kind == TRANSACTION else _SAVEPOINT)
    if not usage.app:
        yield
        return
    flask_app: Flask = request.getfixturevalue("app")
    _db_of(request, flask_app)  # its engines refuse a test that did not ask for a database
    from ..cases.appstate import restore_config, snapshot

    config_before = snapshot(flask_app.config)  # what the test changes is undone after it
    context: contextlib.AbstractContextManager[t.Any]
    if usage.request_context:  # over the database's app context, or one of its own
        context = flask_app.test_request_context()
    elif usage.kind is None:
        context = flask_app.app_context()
    else:
        context = contextlib.nullcontext()  # the database's
    try:
        with context:
            yield
    finally:
        restore_config(flask_app, config_before)


# -- the app's clients ---------------------------------------------------------------


@pytest.fixture
def client(request: pytest.FixtureRequest, app: Flask) -> FlaskClient:
    """A test client; each request gets an app context and a session of its own."""
    usage = usage_of(request.node)
    if "client" in usage.handed_over:
        client: FlaskClient = request.getfixturevalue("client")  # pytest-flask's
        return client
    if usage.uses:
        _db_of(request, app)
    return app.test_client()


@pytest.fixture
def config(request: pytest.FixtureRequest, app: Flask) -> Config:
    """``app.config``; what the test changes in it is undone after it (as Django's ``settings``).

    The plugin undoes what any of its tests changes in ``app.config``; this is
    the name pytest-flask users know for it (in a test that does not use the
    plugin, pytest-flask's ``config``).
    """
    if "config" in usage_of(request.node).handed_over:
        flask_config: Config = request.getfixturevalue("config")  # pytest-flask's
        return flask_config
    return app.config


@pytest.fixture
def make_request_ctx(app: Flask) -> t.Callable[..., RequestContext]:
    """``with make_request_ctx("/path", method="POST", json=...):`` a test request context.

    pytest-django's ``rf``, the Flask way: call a view or ``url_for`` by hand
    in a request of your choosing. The arguments are those of
    ``app.test_request_context()`` (werkzeug's ``EnvironBuilder``). The
    context shares the test's app context, so its session and ``g``.
    """
    make: t.Callable[..., RequestContext] = app.test_request_context
    return make


@pytest.fixture(scope="session")
def _flask_dbtestcase_live_servers() -> t.Iterator[dict[int, tuple[Flask, LiveServer]]]:
    """The session's live servers, one per app (per xdist worker), stopped at its end."""
    servers: dict[int, tuple[Flask, LiveServer]] = {}
    try:
        yield servers
    finally:
        for _, server in servers.values():
            server.stop()


@pytest.fixture
def live_server(request: pytest.FixtureRequest, app: Flask) -> t.Iterator[t.Any]:
    """The app served in a thread (``live_server.url``), in the test's database.

    In a ``db`` test (the default) the server's requests run in the test's
    transaction and are rolled back with it; in a ``transactional_db`` test
    they really commit. Requests still running when the test ends are
    waited for, then named in the test's failure.
    """
    if "live_server" in usage_of(request.node).handed_over:
        yield request.getfixturevalue("live_server")  # pytest-flask's
        return
    from ..cases.live import REQUEST_TIMEOUT, LiveServer, unfinished_requests_error

    _test_case(request)
    servers = request.getfixturevalue("_flask_dbtestcase_live_servers")
    found = servers.get(id(app))
    if found is None or found[0] is not app:
        found = servers[id(app)] = (app, LiveServer(app))
    server = found[1]
    yield server
    unfinished = server.wait_idle(REQUEST_TIMEOUT)
    if unfinished:
        error = unfinished_requests_error(unfinished, REQUEST_TIMEOUT)
        pytest.fail(str(error), pytrace=False)


# -- counting queries ---------------------------------------------------------------------


def _databases(request: pytest.FixtureRequest, app: Flask) -> list[sa.Engine | sa.URL]:
    """The app's databases: its engines', and the test database (a plain app's come later)."""
    database = _db_of(request, app)
    return [*database.all_engines(), session_database_of(request.config).run.databases.url]


@pytest.fixture
def capture_queries(
    request: pytest.FixtureRequest, app: Flask
) -> t.Callable[[], contextlib.AbstractContextManager[QueryLog]]:
    """``with capture_queries() as queries:`` lists the statements the block sends."""
    from ..cases.queries import capture_queries as capture

    databases = _databases(request, app)
    return lambda: capture(databases)


def _counting(
    request: pytest.FixtureRequest, app: Flask, exact: bool
) -> t.Callable[..., contextlib.AbstractContextManager[QueryLog]]:
    from ..cases.queries import capture_queries as capture
    from ..cases.queries import num_queries_message

    databases = _databases(request, app)

    @contextlib.contextmanager
    def count(num: int, *, info: str | None = None) -> t.Iterator[QueryLog]:
        with capture(databases) as log:
            yield log
        if len(log) != num if exact else len(log) > num:
            message = num_queries_message(log, num)
            if not exact:
                message = message.replace(f", {num} expected", f", at most {num} expected", 1)
            pytest.fail(f"{message}\n{info}" if info else message, pytrace=False)

    return count


@pytest.fixture
def assert_num_queries(
    request: pytest.FixtureRequest, app: Flask
) -> t.Callable[..., contextlib.AbstractContextManager[QueryLog]]:
    """``with assert_num_queries(n):`` fails unless the block sends exactly n statements."""
    return _counting(request, app, exact=True)


@pytest.fixture
def assert_max_num_queries(
    request: pytest.FixtureRequest, app: Flask
) -> t.Callable[..., contextlib.AbstractContextManager[QueryLog]]:
    """``with assert_max_num_queries(n):`` fails if the block sends more than n statements."""
    return _counting(request, app, exact=False)
