"""Which connection an engine gets: pinning by database, for every engine of the process.

A test class that isolates its tests *routes* its test databases to the
run's shared connections (:func:`route`); a class whose tests really
commit routes them to real connections again, for as long as it runs.
Routes stack: the innermost decides. Four class-level SQLAlchemy event
listeners, installed once per process, apply them to every engine,
whoever made it and whenever (Flask-SQLAlchemy, Flask-SQLAlchemy-Lite, the
app's own ``create_engine`` in its factory or at request time):

- ``do_connect`` (on every dialect): a new connection to a pinned database
  is the run's shared connection to it (:meth:`.engines.Pins.connect`);
  an engine on a driver that cannot be pinned (an async one) is refused.
- ``checkout`` (on every pool): a pooled connection that no longer fits the
  route of its database (a real one while the database is pinned, a shared
  one while it is not, or one that was lost) is refused with
  ``DisconnectionError``, SQLAlchemy's way of having the pool replace it.
  So the engine's own pool, whatever its class (``QueuePool``, ``NullPool``,
  ...), hands out the right connection; resets on return, ``dispose()`` and
  pre-ping act on the shared connection as on any other (its ``close()`` and
  ``rollback()`` are no-ops; a pre-ping is a ``SELECT 1``, as in production).
- ``begin``, ``commit``, ``rollback`` (on every engine): on a shared
  connection they open and end the savepoint of the SQLAlchemy connection's
  transaction (:class:`~.savepoints.SavepointStack`). On any other
  connection they do nothing.

A database is named as libpq is given it: the host (or socket directory),
the port (5432 when none is given) and the database name. An engine whose
connections are made by a ``creator=`` function of its own is not routed;
the write watch names what it writes.
"""

from __future__ import annotations

import dataclasses
import threading
import typing as t
import weakref

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool

from ..databases.drivers import DRIVERS
from ..databases.urls import database_key
from ..errors import ConfigurationError
from .engines import DatabaseKey, PinnedConnection, Pins, connect_params
from .savepoints import SavepointStack

__all__ = ["Routing", "async_refusal", "is_pinned", "pinned_databases", "route"]


@dataclasses.dataclass(eq=False)
class _Route:
    """Where new connections to some databases go: the shared ones of ``pins``, or real ones."""

    pins: Pins | None
    databases: frozenset[DatabaseKey]
    #: The shared connection each database got first: every engine gets it after.
    fixed: dict[DatabaseKey, PinnedConnection] = dataclasses.field(default_factory=dict)


#: The routes in force, innermost last (replaced whole: read without the lock).
_routes: tuple[_Route, ...] = ()
_lock = threading.RLock()
#: Every run's shared connections, to find the owner of an invalidated connection.
_all_pins: weakref.WeakSet[Pins] = weakref.WeakSet()


class Routing:
    """A route in force: :meth:`connection` gives its databases' shared connections.

    :param entry: the route.
    """

    def __init__(self, entry: _Route) -> None:
        self._entry = entry

    def connection(self, url: sa.URL, engine: sa.Engine | None = None) -> PinnedConnection:
        """Return the shared connection every engine on the database of ``url`` gets now.

        The first engine that connects to it decides which (its options
        apply): ``engine`` when it is given, else a connection opened from
        ``url`` alone.

        :param url: one of the route's databases.
        :param engine: the app's engine on it, to open the connection with its options.
        """
        entry = self._entry
        pins = entry.pins
        assert pins is not None, "a route to real connections has no shared ones"
        key = database_key(url)
        with _lock:
            conn = entry.fixed.get(key)
        if conn is not None and not conn.closed:
            return conn
        if engine is not None:
            with engine.connect() as sa_conn:  # the engine's own options; fixes it
                dbapi = sa_conn.connection.dbapi_connection
            if is_pinned(dbapi):
                return t.cast(PinnedConnection, dbapi)
        with _lock:
            conn = entry.fixed.get(key)
            if conn is None or conn.closed:
                conn = entry.fixed[key] = pins.connection(url)
            return conn

    def stop(self) -> None:
        """End the route: the engines get what the routes below it give."""
        global _routes
        with _lock:
            _routes = tuple(r for r in _routes if r is not self._entry)


def route(pins: Pins | None, urls: t.Iterable[sa.URL]) -> Routing:
    """Route new connections to the databases of ``urls``, until :meth:`Routing.stop`.

    :param pins: the run's shared connections, which the engines get; None:
        real connections (a class whose tests really commit).
    :param urls: the test databases.
    """
    global _routes
    _install()
    entry = _Route(pins, frozenset(database_key(url) for url in urls))
    with _lock:
        if pins is not None:
            _all_pins.add(pins)
        _routes = (*_routes, entry)
    return Routing(entry)


def pinned_databases() -> set[DatabaseKey]:
    """Return the databases whose new connections are shared ones now."""
    found: dict[DatabaseKey, bool] = {}
    for entry in _routes:
        for key in entry.databases:
            found[key] = entry.pins is not None
    return {key for key, pinned in found.items() if pinned}


def is_pinned(dbapi_connection: object) -> bool:
    """Tell whether a DBAPI connection is a shared one (of any run).

    :param dbapi_connection: a DBAPI connection.
    """
    return isinstance(getattr(dbapi_connection, "savepoints", None), SavepointStack)


def async_refusal(what: str, driver: str) -> str:
    """Say, in one paragraph, that an async engine on a pinned database cannot be isolated.

    :param what: the engine, as the message names it.
    :param driver: its driver.
    """
    return (
        f"{what} reaches the test database through the async driver {driver!r}, which "
        "FlaskDBTestCase cannot isolate: every test runs in one transaction on one "
        "synchronous driver connection that all the engines of the test database share, "
        "and an async engine needs an asyncio connection of its own, on which its "
        "commits would be real and outlive the test. Nothing was run on it. Test the "
        "async code in a FlaskDBTransactionTestCase (or with the transactional_db "
        "fixture), where every engine has connections of its own, really commits, and "
        "the tables are emptied after each test; keep FlaskDBTestCase for the sync "
        "engines (SQLALCHEMY_ENGINES, db.session)."
    )


def _find(routes: tuple[_Route, ...], key: DatabaseKey) -> _Route | None:
    for entry in reversed(routes):
        if key in entry.databases:
            return entry
    return None


def _params_key(cparams: t.Mapping[str, t.Any]) -> DatabaseKey | None:
    """The database the dialect's connection keyword arguments name (None: not named)."""
    dbname = cparams.get("dbname") or cparams.get("database")
    if not dbname:
        return None
    try:
        port = int(cparams.get("port") or 5432)
    except (TypeError, ValueError):  # several hosts, several ports
        return None
    return (str(cparams.get("host") or ""), port, str(dbname))


def _connection_key(dbapi_connection: t.Any) -> DatabaseKey | None:
    """The database a real DBAPI connection is on, as libpq reports it (None: unknown)."""
    info: t.Any = getattr(dbapi_connection, "info", None)
    try:
        return (str(info.host or ""), int(info.port or 5432), str(info.dbname))
    except Exception:  # not a libpq connection, or a closed one
        return None


# In a connection record's info: the database its connection is on (see _on_connect).
_KEY = "flask_dbtestcase.database"
# In its record_info: its connection is being replaced; its engine cannot be routed.
_REPLACING = "flask_dbtestcase.replacing"
_UNROUTED = "flask_dbtestcase.unrouted"


def _on_connect(dialect: t.Any, conn_rec: t.Any, cargs: t.Any, cparams: t.Any) -> t.Any:
    """``do_connect``: the shared connection for a pinned database, else None (a real one)."""
    key = _params_key(cparams)
    conn_rec.info[_KEY] = key
    entry = _find(_routes, key) if key is not None else None
    if key is None or entry is None or entry.pins is None:
        return None
    pins = entry.pins
    if dialect.driver not in DRIVERS:
        if getattr(dialect, "is_async", False):
            raise ConfigurationError(async_refusal("An async engine", dialect.driver))
        raise ConfigurationError(
            f"An engine reaches the pinned test database {key[2]!r} through the driver "
            f"{dialect.driver!r}, which flask-dbtestcase cannot isolate; nothing was run "
            "on it. flask-dbtestcase isolates tests on psycopg (postgresql+psycopg://) "
            "and psycopg2 (postgresql+psycopg2://): use one of them for the tests."
        )
    with _lock:
        conn = entry.fixed.get(key)
        if conn is None or conn.closed:
            params = connect_params(dialect.driver, cparams)
            conn = entry.fixed[key] = pins.connect(dialect, cargs, params, key)
        return conn


def _on_checkout(dbapi_connection: t.Any, conn_rec: t.Any, proxy: t.Any) -> None:
    """``checkout``: have the pool replace a connection its database's route does not give."""
    routes = _routes
    if is_pinned(dbapi_connection):
        conn_rec.record_info.pop(_REPLACING, None)
        if dbapi_connection.closed or not _live(routes, dbapi_connection):
            raise DisconnectionError("flask-dbtestcase: the shared connection is not in use")
        return
    if not routes:
        return
    key = conn_rec.info.get(_KEY) or _connection_key(dbapi_connection)
    entry = _find(routes, key) if key is not None else None
    if entry is None or entry.pins is None:
        return
    record_info = conn_rec.record_info
    if record_info.get(_UNROUTED):
        return
    if record_info.pop(_REPLACING, False):
        # Its replacement is a real connection again: the engine makes them
        # itself (creator=). It cannot be pinned; the write watch names its writes.
        record_info[_UNROUTED] = True
        return
    record_info[_REPLACING] = True
    raise DisconnectionError("flask-dbtestcase: the database is pinned now")


def _live(routes: tuple[_Route, ...], conn: t.Any) -> bool:
    """Whether a shared connection is the one its database's route gives now (fixing it)."""
    for entry in reversed(routes):
        if entry.pins is None:
            continue
        key = entry.pins.database_of(conn)
        if key is not None:
            if _find(routes, key) is not entry:
                return False
            with _lock:
                return entry.fixed.setdefault(key, conn) is conn
    return False


def _stack(conn: Connection) -> SavepointStack | None:
    """The savepoint stack of the shared connection under a SQLAlchemy connection, if any."""
    if conn.invalidated:  # its DBAPI connection is out of reach: find the frame
        for pins in list(_all_pins):
            owner = pins.owner_of(conn)
            if owner is not None:
                return owner.savepoints
        return None
    stack = getattr(conn.connection.dbapi_connection, "savepoints", None)
    return stack if isinstance(stack, SavepointStack) else None


def _autocommit(conn: Connection) -> bool:
    level = conn.get_execution_options().get("isolation_level") or getattr(
        conn.dialect, "_on_connect_isolation_level", None
    )
    return level == "AUTOCOMMIT"


def _on_begin(conn: Connection) -> None:
    stack = _stack(conn)
    if stack is not None:
        stack.begin(conn, autocommit=_autocommit(conn))


def _on_commit(conn: Connection) -> None:
    stack = _stack(conn)
    if stack is not None:
        stack.end(conn, commit=True)


def _on_rollback(conn: Connection) -> None:
    stack = _stack(conn)
    if stack is not None:
        # Under AUTOCOMMIT every statement was final: a rollback undoes nothing.
        stack.end(conn, commit=_autocommit(conn))


def _install() -> None:
    """Install the class-level listeners, once per process."""
    if event.contains(Engine, "do_connect", _on_connect):
        return
    with _lock:
        if event.contains(Engine, "do_connect", _on_connect):
            return
        event.listen(Pool, "checkout", _on_checkout)
        event.listen(Engine, "begin", _on_begin)
        event.listen(Engine, "commit", _on_commit)
        event.listen(Engine, "rollback", _on_rollback)
        event.listen(Engine, "do_connect", _on_connect)  # last: the others are in place
