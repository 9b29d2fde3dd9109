"""The shared connections of a run: one per test database and driver.

Every engine on a test database the run isolates is *pinned*, whoever made
it (Flask-SQLAlchemy, Flask-SQLAlchemy-Lite, or the app's own
``create_engine``, at start-up or at request time): while a test class
pins that database (:mod:`.routing`), every new connection an engine makes
to it is the run's one shared connection to it (psycopg2 or psycopg 3,
whichever driver the engine uses: see :mod:`.pinned` and the two adapters),
kept inside one transaction per test class. Whatever the application does
through SQLAlchemy — ORM sessions in and out of requests, ``commit()``,
``rollback()``, ``begin_nested()``, ``engine.connect()``/``engine.begin()``,
DDL — runs on that connection, and each *logical* transaction the app opens
becomes a SAVEPOINT of its own. So the app behaves as in production (every
request still has its own session, ``with db.session.begin():`` works, the
app's session class and options are untouched, ``db.engine`` stays a real
``Engine`` with its own pool), but nothing ever really commits.

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

import threading
import types
import typing as t

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..databases.drivers import DRIVERS
from ..databases.libpq import harden
from ..databases.urls import database_key
from ..databases.watch import pinned_options
from ..errors import ConfigurationError
from ..postgres.identity import throwaway_data_dir
from .pinned import PinnedConnection

__all__ = [
    "DatabaseKey",
    "connect_params",
    "PinnedConnection",
    "Pins",
    "adapter",
]

#: What names a database: its server's host (or socket directory) and port, its name.
DatabaseKey = tuple[str, int, str]


class Pins:
    """The shared connections of one run, by driver and connection arguments.

    A test class shares one of them among every engine on each of its
    databases (:mod:`.routing`): the one its app's engine opens, with that
    engine's options. :meth:`close` closes them all (before the run's
    databases are dropped).
    """

    def __init__(self) -> None:
        self._connections: dict[tuple[str, ...], PinnedConnection] = {}
        self._databases: dict[int, DatabaseKey] = {}
        self._dialects: dict[str, t.Any] = {}
        self._lock = threading.Lock()

    def connect(
        self, dialect: t.Any, cargs: t.Sequence[t.Any], cparams: dict[str, t.Any], key: DatabaseKey
    ) -> PinnedConnection:
        """Hand out the shared connection for these arguments, opening it if needed.

        :param dialect: the connecting engine's dialect.
        :param cargs: its connection arguments.
        :param cparams: its connection keyword arguments.
        :param key: the database they name.
        """
        pin_key = _pin_key(dialect.driver, cargs, cparams)
        with self._lock:
            conn = self._connections.get(pin_key)
            if conn is None or conn.closed:
                if conn is not None:
                    self._databases.pop(id(conn), None)
                # It opens with the watch's setting on: its own writes are not logged.
                params = pinned_options(cparams)
                conn = adapter(dialect.driver).connect(dialect.loaded_dbapi, cargs, params)
                self._connections[pin_key] = conn
                self._databases[id(conn)] = key
            return conn

    def database_of(self, conn: object) -> DatabaseKey | None:
        """Return the database of one of these shared connections (None: not one of them).

        :param conn: a DBAPI connection.
        """
        return self._databases.get(id(conn))

    def connection(self, url: sa.URL) -> PinnedConnection:
        """Return the shared connection to the database of ``url``, opened if needed.

        It is opened with the arguments SQLAlchemy's dialect of ``url``
        would give the driver (hardened as :func:`.connect_params` says),
        without a statement: the engines that get it later initialise
        their dialects on it if they never connected before.

        :param url: a test database, naming the driver.
        """
        key = database_key(url)
        with self._lock:
            dialect = self._dialects.get(url.drivername)
            if dialect is None:
                dialect_cls: t.Any = url.get_dialect()
                dialect = dialect_cls(dbapi=dialect_cls.import_dbapi())
                self._dialects[url.drivername] = dialect
        cargs, cparams = dialect.create_connect_args(url)
        return self.connect(dialect, cargs, connect_params(dialect.driver, dict(cparams)), key)

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
            self._databases.clear()


def connect_params(driver: str, cparams: dict[str, t.Any]) -> dict[str, t.Any]:
    """Return a shared connection's keyword arguments, as every connection to the server gets them.

    A connection to a throwaway server names everything libpq's environment
    could change (:func:`~flask_dbtestcase.databases.libpq.harden`).

    :param driver: the driver.
    :param cparams: the dialect's connection keyword arguments (changed in place).
    """
    host = cparams.get("host")
    if isinstance(host, str) and throwaway_data_dir(host) is not None:
        harden(cparams, driver)
    return cparams


# Connection arguments a dialect makes per instance, which do not change the
# connection: psycopg's adapters map (SQLAlchemy's "context").
_UNKEYED = frozenset({"context"})


def _pin_key(
    driver: str, cargs: t.Sequence[t.Any], cparams: t.Mapping[str, t.Any]
) -> tuple[str, ...]:
    params = sorted((k, v) for k, v in cparams.items() if k not in _UNKEYED)
    return (driver, repr(tuple(cargs)), repr(params))


def _psycopg2_adapter() -> types.ModuleType:
    from . import psycopg2_driver

    return psycopg2_driver


def _psycopg_adapter() -> types.ModuleType:
    from . import psycopg_driver

    return psycopg_driver


#: How each supported driver (the registry: :data:`~flask_dbtestcase.databases.drivers.DRIVERS`)
#: is pinned: its adapter module, imported when a driver is in use (each imports its driver).
_ADAPTERS: dict[str, t.Callable[[], types.ModuleType]] = {
    "psycopg2": _psycopg2_adapter,
    "psycopg": _psycopg_adapter,
}


def adapter(driver: str) -> t.Any:
    """Import the adapter module of ``driver`` (only the drivers in use are imported).

    :param driver: SQLAlchemy's name of the driver, one of
        :data:`~flask_dbtestcase.databases.drivers.DRIVERS`.
    """
    load = _ADAPTERS.get(driver) if driver in DRIVERS else None
    if load is None:
        raise ConfigurationError(
            f"flask-dbtestcase cannot isolate an engine on the driver {driver!r}: "
            "it supports psycopg (postgresql+psycopg://) and psycopg2 "
            "(postgresql+psycopg2://). Use one of them for the tests."
        )
    return load()
