"""Which of the plugin's fixtures a pytest test uses: read from the fixture definitions in use.

A project's own fixture named ``app``, ``db``, ``client``, ``session`` or
``live_server`` wins over the plugin's, as pytest's rules say a conftest
fixture does, and the plugin leaves it alone: its guards (refused database
access, the per-test savepoint, the app and request contexts) apply only to
a test that uses one of the plugin's own fixture definitions, or its
``flask_db`` marker. Names are not enough: for each name of the test's
fixture closure, the definition in use is the last one pytest found, and a
definition that requests its own name also uses the one before it.

Some names are defined by other plugins too (pytest-flask's ``client``,
``config`` and ``live_server``, pytest-flask-sqlalchemy's ``db_session``). The plugin's
definitions are registered last, so they win, and in a test that does not
otherwise use the plugin they hand over to the other plugin's definition.

The answer is computed once per test (the walk over the definitions once
per fixture closure, which parametrized tests share) and kept on the item.
"""

from __future__ import annotations

import dataclasses
import typing as t

import pytest

from .caseclasses import DEFAULT_OPTIONS, SAVEPOINT, TRANSACTION, CaseOptions
from .marker import MARKER, MarkerArgs, MarkerError, marker_call, read_marker

__all__ = [
    "AUTOUSE",
    "FIXTURES_MODULE",
    "NO_REQUEST_CONTEXT",
    "Usage",
    "pytest_flask_active",
    "usage_of",
]

#: The module of the plugin's fixtures: a definition whose function is there is the plugin's.
FIXTURES_MODULE = "flask_dbtestcase.pytest_plugin.fixtures"
#: The plugin's autouse fixture, in every test's closure: not a request for anything.
AUTOUSE = "_flask_dbtestcase_test"
#: The marker that keeps a test out of the test request context (an app context only).
NO_REQUEST_CONTEXT = "no_request_context"

#: Fixtures whose names other plugins define too: handed over to theirs in a test
#: that does not otherwise use the plugin.
_SHARED = frozenset({"client", "config", "live_server", "db_session"})
#: The plugin's fixtures that make a test a ``db`` test ...
_SAVEPOINT_FIXTURES = frozenset({"db", "db_session", "module_db", "class_db", "live_server"})
#: ... and a ``transactional_db`` test (it wins, as in pytest-django).
_TRANSACTION_FIXTURES = frozenset({"transactional_db"})
_FUNCTION = "function"


@dataclasses.dataclass(frozen=True)
class Usage:
    """What a test asks of the plugin.

    :param uses: the test uses the plugin (its fixtures or marker): the guards apply.
    :param kind: the database it asked for: SAVEPOINT, TRANSACTION or None.
    :param app: it uses an ``app`` fixture (the plugin's or the project's).
    :param request_context: the plugin pushes a test request context for it.
    :param handed_over: the plugin's fixtures that give the other plugin's definition.
    :param options: what else it asked for, with the ``flask_db`` marker.
    :param marker: the marker as the test wrote it (None: no marker).
    :param refused: why the marker's arguments are refused (None: they are not).
    """

    uses: bool = False
    kind: str | None = None
    app: bool = False
    request_context: bool = False
    handed_over: frozenset[str] = frozenset()
    options: CaseOptions = DEFAULT_OPTIONS
    marker: str | None = None
    refused: str | None = None


@dataclasses.dataclass(frozen=True)
class _Closure:
    """What the definitions of one fixture closure say (shared by parametrized tests)."""

    info: t.Any  #: kept, so that its id() stays its own
    ours: frozenset[str]
    handed_over: frozenset[str]
    app: bool


_USAGE = pytest.StashKey["Usage"]()
_CLOSURES = pytest.StashKey[dict[int, _Closure]]()
_PYTEST_FLASK = pytest.StashKey[bool]()


def usage_of(item: pytest.Item) -> Usage:
    """Return what ``item`` asks of the plugin (computed on first use, then kept on the item).

    :param item: a collected pytest test.
    """
    found = item.stash.get(_USAGE, None)
    if found is None:
        found = item.stash[_USAGE] = _usage(item)
    return found


def pytest_flask_active(config: pytest.Config) -> bool:
    """Tell whether pytest-flask is active in this run (it pushes its own request context).

    :param config: pytest's configuration.
    """
    found = config.stash.get(_PYTEST_FLASK, None)
    if found is None:
        names = {getattr(plugin, "__name__", None) for plugin in config.pluginmanager.get_plugins()}
        found = config.stash[_PYTEST_FLASK] = "pytest_flask.plugin" in names
    return found


def _usage(item: pytest.Item) -> Usage:
    info = getattr(item, "_fixtureinfo", None)
    closure = _closure_of(item.config, info) if info is not None else None
    marker = item.get_closest_marker(MARKER)
    ours = closure.ours if closure is not None else frozenset()
    handed_over = closure.handed_over if closure is not None else frozenset()
    if marker is None and not ours - handed_over:
        return Usage(handed_over=handed_over)
    args, refused = MarkerArgs(), None
    if marker is not None:
        try:
            args = read_marker(marker)
        except MarkerError as exc:
            refused = str(exc)
    kind = None
    if ours & _TRANSACTION_FIXTURES or args.transactional:
        kind = TRANSACTION
    elif ours & _SAVEPOINT_FIXTURES or marker is not None:
        kind = SAVEPOINT
    options = CaseOptions(
        databases=args.databases,
        # A db test is rolled back whole: nothing to put back.
        serialized_rollback=args.serialized_rollback and kind == TRANSACTION,
    )
    request_context = (
        item.get_closest_marker(NO_REQUEST_CONTEXT) is None
        and not pytest_flask_active(item.config)  # pytest-flask pushes its own
    )
    return Usage(
        uses=True,
        kind=kind,
        app=kind is not None or (closure is not None and closure.app),
        request_context=request_context,
        options=options,
        marker=marker_call(marker) if marker is not None else None,
        refused=refused,
    )


def _closure_of(config: pytest.Config, info: t.Any) -> _Closure:
    closures = config.stash.setdefault(_CLOSURES, {})
    found = closures.get(id(info))
    if found is None or found.info is not info:
        found = closures[id(info)] = _read_closure(info)
    return found


def _read_closure(info: t.Any) -> _Closure:
    """Read the definitions in use; put the plugin's autouse fixture first of its scope."""
    ours: set[str] = set()
    handed_over: set[str] = set()
    name2fixturedefs: dict[str, t.Sequence[t.Any]] = info.name2fixturedefs
    for name, fixturedefs in name2fixturedefs.items():
        for index in range(len(fixturedefs) - 1, -1, -1):
            fixturedef = fixturedefs[index]
            if _is_ours(fixturedef):
                ours.add(name)
                if name in _SHARED and index > 0:  # another plugin's comes before
                    handed_over.add(name)
            if name not in fixturedef.argnames:
                break
    ours.discard(AUTOUSE)
    _put_first(info.names_closure, name2fixturedefs)
    return _Closure(info, frozenset(ours), frozenset(handed_over), "app" in name2fixturedefs)


def _is_ours(fixturedef: t.Any) -> bool:
    return getattr(fixturedef.func, "__module__", None) == FIXTURES_MODULE


def _put_first(names: list[str], name2fixturedefs: dict[str, t.Sequence[t.Any]]) -> None:
    """Move the autouse fixture before the other function-scoped fixtures (other plugins' too).

    pytest sets up the fixtures of wider scopes first, then the autouse ones
    in the order the plugins were registered. Set up first, the test's
    database and app context come before any other plugin's (pytest-flask's
    request context), so they are torn down last, in the reverse order.
    """
    if AUTOUSE not in names:
        return
    names.remove(AUTOUSE)
    for position, name in enumerate(names):
        fixturedefs = name2fixturedefs.get(name)
        if not fixturedefs or fixturedefs[-1].scope == _FUNCTION:
            names.insert(position, AUTOUSE)
            return
    names.append(AUTOUSE)
