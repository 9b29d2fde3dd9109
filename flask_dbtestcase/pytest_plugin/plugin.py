"""The pytest plugin's entry point: options, the marker, and the hooks around each test.

Importing it costs only pytest: flask, SQLAlchemy and the database modules
are imported when a test first asks for a fixture, or, in a project whose
settings name the package (``[tool.flask-dbtestcase]``, the ini key, an
option), when collection starts: the throwaway server starts then, in the
background, while the test modules load, as the runner's does; it is
stopped at once if no collected test needs it. Disable the plugin with
``-p no:flask_dbtestcase``.

The fixtures are registered at ``pytest_configure``, after every plugin an
entry point loaded: where another plugin defines a fixture of the same name
(pytest-flask's ``client`` and ``live_server``), the plugin's wins and hands
over to the other one in a test that does not use the plugin (:mod:`.usage`).
A project's own fixtures (conftest.py, test modules) win over both.
"""

from __future__ import annotations

import sys
import typing as t
import unittest

import pytest

from ..cases.wrapping import WrappedTestCase
from .marker import MARKER
from .projectsettings import add_settings_options, settings_given
from .session import manager_of, session_database_of, settings_of, user_errors
from .usage import FIXTURES_MODULE, NO_REQUEST_CONTEXT, usage_of

if t.TYPE_CHECKING:
    from .broker import Broker

__all__ = [
    "pytest_addoption",
    "pytest_collection",
    "pytest_collection_finish",
    "pytest_configure",
    "pytest_configure_node",
    "pytest_fixture_setup",
    "pytest_runtest_setup",
    "pytest_sessionfinish",
    "pytest_runtest_teardown",
    "pytest_unconfigure",
]

_BROKER: pytest.StashKey[Broker] = pytest.StashKey()
#: Whether the collected tests include some that use the plugin.
_USES_FIXTURES = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the plugin's options (pytest-django's are shared with it) and its ini key.

    :param parser: pytest's option parser.
    """
    group = parser.getgroup("flask-dbtestcase", "flask-dbtestcase (test database)")
    options: list[tuple[str, dict[str, t.Any]]] = [
        (
            "--reuse-db",
            {
                "action": "store_true",
                "dest": "flask_dbtestcase_reuse_db",
                "help": "Keep the test database at the end and reuse it next time "
                "(--keepdb of the runner).",
            },
        ),
        (
            "--create-db",
            {
                "action": "store_true",
                "dest": "flask_dbtestcase_create_db",
                "help": "Re-create the test database, even with --reuse-db.",
            },
        ),
        (
            "--database-url",
            {
                "dest": "flask_dbtestcase_database_url",
                "metavar": "URL",
                "default": None,
                "help": "Create the test database (test_<name>) on this existing "
                "PostgreSQL server instead of a throwaway one.",
            },
        ),
    ]
    for name, kwargs in options:
        try:
            group.addoption(name, **kwargs)
        except ValueError:  # another plugin (pytest-django) has it already
            pass
    add_settings_options(parser, group)


def pytest_configure(config: pytest.Config) -> None:
    """Declare the markers; register the fixtures, after the other plugins'.

    :param config: pytest's configuration.
    """
    config.addinivalue_line(
        "markers",
        f"{MARKER}(transaction=False, reset_sequences=False, databases=None, "
        "serialized_rollback=False): give the test the test database, as the 'db' "
        "fixture (transaction=True: as 'transactional_db'; databases: the ones it may "
        "use, by name; the arguments of pytest-django's django_db).",
    )
    config.addinivalue_line(
        "markers",
        f"{NO_REQUEST_CONTEXT}: run a test that uses flask-dbtestcase's app in an app "
        "context only, without a test request context.",
    )
    _not_rewritten(config)
    config.pluginmanager.import_plugin(FIXTURES_MODULE)


def _not_rewritten(config: pytest.Config) -> None:
    """Leave the package's modules out of pytest's assertion rewriting.

    pytest rewrites the asserts of every module of a distribution that has a
    ``pytest11`` entry point: each session parses and compiles again the ~80
    modules a run imports wherever no bytecode is written
    (``PYTHONDONTWRITEBYTECODE``, an installation the user cannot write),
    0.2-0.4 s of the session's start-up. Their asserts check the package's
    own invariants, not the user's tests. Only pytest's private rewriting hook
    holds the list (pytest 7 to 9); where it is not found, nothing changes.

    :param config: pytest's configuration.
    """
    try:
        from _pytest.assertion.rewrite import assertstate_key
    except ImportError:  # another pytest: its rewriting stays as it is
        return
    hook = getattr(config.stash.get(assertstate_key, None), "hook", None)
    marked = getattr(hook, "_must_rewrite", None)
    if isinstance(marked, set) and __package__:
        marked.discard(__package__.partition(".")[0])
        cache = getattr(hook, "_marked_for_rewrite_cache", None)
        if isinstance(cache, dict):
            cache.clear()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: t.Any) -> None:
    """pytest-xdist's controller: tell each worker where to ask for its test database.

    :param node: the worker about to start.
    """
    from .broker import Broker
    from .database import DatabaseOptions

    config = node.config
    if _BROKER not in config.stash:
        config.stash[_BROKER] = Broker(DatabaseOptions.from_config(config), settings_of(config))
    broker = config.stash[_BROKER]
    node.workerinput["flask_dbtestcase_broker"] = broker.address
    node.workerinput["flask_dbtestcase_authkey"] = broker.authkey.hex()


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    """Start the throwaway server in the background while the test modules load.

    Only in a project whose settings name the package (see
    :meth:`~.session.SessionDatabase.start_early`); collection goes on.

    :param session: the pytest session.
    """
    session_database_of(session.config).start_early()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note whether some collected test uses the plugin (and read what each one uses).

    The server started early is stopped if no collected test needs the
    session's database.

    :param session: the pytest session.
    """
    config = session.config
    uses = [usage_of(item).uses for item in session.items if not _is_unittest(item)]
    config.stash[_USES_FIXTURES] = any(uses)
    database = session_database_of(config)
    if not any(uses) and not (
        (database.options.given or settings_given(config))
        and any(_is_case_class_test(item) for item in session.items)
    ):
        database.discard_early()


def _is_unittest(item: pytest.Item) -> bool:
    """Tell whether ``item`` is a test method of a ``unittest.TestCase`` class."""
    cls = getattr(item, "cls", None)
    return isinstance(cls, type) and issubclass(cls, unittest.TestCase)


def _is_case_class_test(item: pytest.Item) -> bool:
    """Tell whether ``item`` is a test of a FlaskDBTestCase / FlaskDBTransactionTestCase class.

    Both are :class:`~flask_dbtestcase.cases.wrapping.WrappedTestCase`, whose
    module imports neither Flask nor SQLAlchemy.
    """
    return _is_unittest(item) and issubclass(getattr(item, "cls", object), WrappedTestCase)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before a test's fixtures: close a case it cannot share; set up the database a class needs.

    :param item: the test.
    """
    manager = manager_of(item.config)
    if not _is_unittest(item):
        usage = usage_of(item)
        if usage.refused is not None:
            pytest.fail(usage.refused, pytrace=False)
        manager.start_item(item if usage.uses else None, usage.kind, usage.options)
        return
    manager.start_item(None, None)
    manager.close_ambient()
    if not _is_case_class_test(item):
        return
    case = manager.open
    if case is not None:
        pytest.fail(
            f"{item.nodeid} is a test of a test case class, but it runs inside the scope of "
            f"the shared data of '{case.scope}_db', whose transaction the class would roll "
            "back. Move the class out of that module.",
            pytrace=False,
        )
    database = session_database_of(item.config)
    # Mixed suites share the session's database; a suite of classes alone
    # keeps its own behaviour unless a database option or a setting was given.
    given = database.options.given or settings_given(item.config)
    if given or item.config.stash.get(_USES_FIXTURES, False):
        with user_errors():
            database.ensure()


def _shutdown(config: pytest.Config) -> None:
    """Close the open case, then tear the session's database down; report, never raise."""
    manager = manager_of(config)
    manager.end_item()
    for step in (manager.close, session_database_of(config).tear_down):
        try:
            step()
        except Exception as exc:  # keep going: the database must go whatever happened
            sys.stderr.write(f"flask-dbtestcase: error while cleaning up: {exc}\n")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """After every fixture's teardown: close the case, drop the database, stop the server.

    :param session: the pytest session.
    """
    _shutdown(session.config)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[t.Any], request: pytest.FixtureRequest
) -> t.Any:
    """In a test that uses the plugin, make the ``app`` fixture's engines check access at once.

    The app may be the project's own, built on ``flask_dbtestcase_config``:
    a wider-scoped fixture that writes with it before the test's savepoint is
    refused. In a test that does not use the plugin, no app is looked at.

    :param fixturedef: the fixture being set up.
    :param request: its request.
    """
    result = yield
    if fixturedef.argname == "app":
        manager = manager_of(request.config)
        if manager.item is not None:  # a test that uses the plugin is being set up
            manager.watch_app(result)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> t.Iterator[None]:
    """After a test's teardown: no test runs.

    :param item: the test.
    :param nextitem: the next one.
    """
    try:
        return (yield)
    finally:
        manager_of(item.config).end_item()


def pytest_unconfigure(config: pytest.Config) -> None:
    """At the very end: whatever is still set up is torn down (the controller's databases too).

    :param config: pytest's configuration.
    """
    try:
        _shutdown(config)
    finally:
        broker = config.stash.get(_BROKER, None)
        if broker is not None:
            del config.stash[_BROKER]
            broker.close()
