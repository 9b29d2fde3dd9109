"""Binding an app's engines to the test transaction.

Every engine of the app under test is *pinned*: its pool hands out one
shared connection (psycopg2 or psycopg 3, whichever driver the engine
uses: see :mod:`.pinned` and the two adapters), opened once per database
and driver for the whole process
and kept inside one transaction per test class. Whatever the application
does through SQLAlchemy — ORM sessions in and out of requests, ``commit()``,
``rollback()``, ``begin_nested()``, ``engine.connect()``/``engine.begin()``,
DDL — runs on that connection, and each *logical* transaction the app opens
becomes a SAVEPOINT of its own. So the app behaves as in production (every
request still has its own session, ``with db.session.begin():`` works, the
app's session class and options are untouched, ``db.engine`` stays a real
``Engine``), but nothing ever really commits.

The plumbing is lazy: a SAVEPOINT is sent only when a statement needs it,
prepended to that statement in the same round trip, and a RELEASE or
ROLLBACK TO waits for the next statement. A test that never touches the
database sends no SQL at all; a test that does pays one extra round trip,
the ``ROLLBACK TO SAVEPOINT`` that ends it.

Why not ``Session(bind=connection, join_transaction_mode=...)``, the
SQLAlchemy recipe? Flask-SQLAlchemy 3's ``get_bind`` ignores a session-level
bind whenever a default engine exists, and SQLAlchemy 2.1 ignores
``join_transaction_mode`` for sessions bound to an ``Engine``; pinning below
the Engine works whatever the session class, the options or the version.
"""

from __future__ import annotations

import dataclasses
import importlib
import threading
import typing as t

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from ..databases.watch import pinned_options
from ..errors import ConfigurationError
from .pinned import PinnedConnection
from .savepoints import SavepointStack

__all__ = [
    "PinnedConnection",
    "PinnedEngine",
    "Pins",
    "SUPPORTED_DRIVERS",
    "pin_engine",
]


class _PinnedPool(StaticPool):
    """A StaticPool that never resets, disposes of or recreates its connection."""

    def dispose(self) -> None:
        pass

    def recreate(self) -> _PinnedPool:
        return self


class Pins:
    """The shared connections of one run, by driver and connection arguments.

    Every engine pinned to the same database in the run shares one; :meth:`close`
    closes them all (before the run's databases are dropped).
    """

    def __init__(self) -> None:
        self._connections: dict[tuple[str, ...], PinnedConnection] = {}
        self._lock = threading.Lock()

    def connect(
        self, dialect: t.Any, conn_rec: t.Any, cargs: t.Any, cparams: t.Any
    ) -> PinnedConnection:
        """``do_connect`` hook: hand out the shared connection for these arguments.

        :param dialect: the engine's dialect.
        :param conn_rec: the pool's connection record.
        :param cargs: its connection arguments.
        :param cparams: its connection keyword arguments.
        """
        key = _pin_key(dialect.driver, cargs, cparams)
        with self._lock:
            conn = self._connections.get(key)
            if conn is None or conn.closed:
                # It opens with the watch's setting on: its own writes are not logged.
                params = pinned_options(cparams)
                conn = _adapter(dialect.driver).connect(dialect.loaded_dbapi, cargs, params)
                self._connections[key] = conn
            return conn

    def connections(self) -> list[PinnedConnection]:
        """Return the shared connections opened so far."""
        with self._lock:
            return list(self._connections.values())

    def owner_of(self, conn: Connection) -> PinnedConnection | None:
        """Return the shared connection holding a frame of ``conn`` (an invalidated one).

        :param conn: a SQLAlchemy connection.
        """
        with self._lock:
            for pinned in self._connections.values():
                if pinned.savepoints.find(conn) is not None:
                    return pinned
        return None

    def close(self) -> None:
        """Close every shared connection (before the test databases are dropped)."""
        with self._lock:
            for conn in self._connections.values():
                conn.close_for_real()
            self._connections.clear()


#: The drivers whose engines can be pinned: SQLAlchemy's driver name -> adapter module.
SUPPORTED_DRIVERS = {"psycopg2": "psycopg2_driver", "psycopg": "psycopg_driver"}

# Connection arguments a dialect makes per instance, which do not change the
# connection: psycopg's adapters map (SQLAlchemy's "context").
_UNKEYED = frozenset({"context"})


def _pin_key(
    driver: str, cargs: t.Sequence[t.Any], cparams: t.Mapping[str, t.Any]
) -> tuple[str, ...]:
    params = sorted((k, v) for k, v in cparams.items() if k not in _UNKEYED)
    return (driver, repr(tuple(cargs)), repr(params))


def _adapter(driver: str) -> t.Any:
    """Import the adapter module of ``driver`` (only the drivers in use are imported)."""
    name = SUPPORTED_DRIVERS.get(driver)
    if name is None:
        raise ConfigurationError(
            f"flask-dbtestcase cannot isolate an engine on the driver {driver!r}: "
            "it supports psycopg (postgresql+psycopg://) and psycopg2 "
            "(postgresql+psycopg2://). Use one of them for the tests."
        )
    return importlib.import_module(f"{__package__}.{name}")


@dataclasses.dataclass
class PinnedEngine:
    """What :func:`pin_engine` changed on one engine, to undo it.

    :param engine: the pinned engine.
    :param original_pool: its pool before.
    :param listeners: the events :func:`pin_engine` listens to on it.
    """

    engine: Engine
    original_pool: t.Any
    listeners: list[tuple[str, t.Callable[..., t.Any]]]

    @property
    def connection(self) -> PinnedConnection:
        """The shared connection: opened on first use, reopened if it was lost."""
        record = t.cast(_PinnedPool, self.engine.pool).connection
        conn = record.dbapi_connection
        if conn is None or conn.closed:
            record.invalidate()
            with self.engine.connect() as sa_conn:
                conn = sa_conn.connection.dbapi_connection
        return t.cast(PinnedConnection, conn)

    def unpin(self) -> None:
        """Give the engine its own pool and events back."""
        for name, fn in self.listeners:
            event.remove(self.engine, name, fn)
        self.engine.pool = self.original_pool


def pin_engine(engine: Engine, pins: Pins) -> PinnedEngine:
    """Route every connection of ``engine`` to the shared test connection.

    :param engine: an engine of the app under test.
    :param pins: the run's shared connections.
    """
    _adapter(engine.dialect.driver)  # a driver it cannot pin fails here, before any change
    original = engine.pool
    original.dispose()

    def on_begin(conn: Connection) -> None:
        _savepoints(conn, pins).begin(conn, autocommit=_autocommit(conn))

    def on_commit(conn: Connection) -> None:
        _savepoints(conn, pins).end(conn, commit=True)

    def on_rollback(conn: Connection) -> None:
        # Under AUTOCOMMIT every statement was final: a rollback undoes nothing.
        _savepoints(conn, pins).end(conn, commit=_autocommit(conn))

    listeners: list[tuple[str, t.Callable[..., t.Any]]] = [
        ("do_connect", pins.connect),
        ("begin", on_begin),
        ("commit", on_commit),
        ("rollback", on_rollback),
    ]
    for name, fn in listeners:
        event.listen(engine, name, fn)
    engine.pool = _PinnedPool(
        creator=original._creator,
        reset_on_return=None,
        pre_ping=False,
        echo=original.echo,
        _dispatch=original.dispatch,
        dialect=original._dialect,
    )
    return PinnedEngine(engine, original, listeners)


def _autocommit(conn: Connection) -> bool:
    level = conn.get_execution_options().get("isolation_level") or getattr(
        conn.dialect, "_on_connect_isolation_level", None
    )
    return level == "AUTOCOMMIT"


def _savepoints(conn: Connection, pins: Pins) -> SavepointStack:
    """The savepoint stack of the shared connection under a SQLAlchemy connection."""
    if conn.invalidated:  # its DBAPI connection is out of reach: find the frame
        owner = pins.owner_of(conn)
        return owner.savepoints if owner is not None else _NOWHERE
    return t.cast(PinnedConnection, conn.connection.dbapi_connection).savepoints


class _Nowhere:
    """Stands in for the savepoints of a connection that is gone: nothing left to end."""

    def begin(self, owner: object, autocommit: bool = False) -> None:
        pass

    def end(self, owner: object, commit: bool) -> None:
        pass


_NOWHERE = t.cast(SavepointStack, _Nowhere())
