"""Connections to a server's maintenance database, for the work no test database can do.

Creating, cloning and dropping databases, cancelling queries, marking a
database: all of it runs on an autocommit connection to the server's
``postgres`` database (``template1`` where that does not exist), in the
run's driver.

A server counts as the throwaway server only when it is proven to be: a
connection to it names every parameter libpq's environment could change
(:func:`~.libpq.harden`), and the server that answers must report the data
directory of the server this package started, before anything is done on
it. The first proof in a process also hardens every engine's connections to
it (:func:`~.libpq.guard_engines`).
"""

from __future__ import annotations

import contextlib
import os
import typing as t

from sqlalchemy.engine import URL

from ..errors import ConfigurationError, UnsafeDatabaseError
from ..postgres.identity import throwaway_data_dir
from .drivers import url_driver
from .libpq import guard_engines, harden, libpq_environment
from .urls import render_url, url_host

__all__ = [
    "Connection",
    "Cursor",
    "connect_maintenance",
    "maintenance_cursor",
    "prove_throwaway",
]

#: A DB-API connection or cursor of the run's driver (psycopg or psycopg2):
#: the calls made on them are the same on both.
Connection = t.Any
Cursor = t.Any


def _connect_args(url: URL, database: str) -> dict[str, t.Any]:
    args: dict[str, t.Any] = {"connect_timeout": 10}
    for key, value in url.query.items():
        args[key] = value[-1] if isinstance(value, tuple) else value
    args.update(url.translate_connect_args(username="user", database="dbname"))
    args["dbname"] = database
    return args


#: The data directories of the throwaway servers proven in this process.
_proven: set[str] = set()


def connect_maintenance(url: URL) -> Connection:
    """Open an autocommit connection to the server's maintenance database.

    It uses the driver ``url`` names (see :mod:`.drivers`).

    That is ``postgres`` (``template1`` if it does not exist, or when
    ``url`` names ``postgres`` itself). On a throwaway server the connection
    cannot be redirected by libpq's environment, and the server is proven to
    be the one this package started (else :class:`UnsafeDatabaseError`).

    :param url: a database on the server.
    """
    driver = url_driver(url)
    data_dir = throwaway_data_dir(url_host(url))
    names = ["postgres", "template1"]
    if url.database == "postgres":
        names.reverse()
    for name in names:
        args = _connect_args(url, name)
        if data_dir is not None:
            harden(args, url.get_driver_name())
        try:
            conn = driver.connect(**args)
        except driver.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            if name == names[0] and f'database "{name}" does not exist' in reason:
                continue
            raise ConfigurationError(_unreachable(url, reason, data_dir)) from None
        conn.autocommit = True
        if data_dir is not None:
            try:
                _prove(conn, url, data_dir, driver.Error)
            except BaseException:
                conn.close()
                raise
        return conn
    raise AssertionError("unreachable")  # pragma: no cover


def _prove(conn: Connection, url: URL, data_dir: str, error: type[Exception]) -> None:
    """Refuse a server that is not the throwaway server whose socket directory ``url`` names."""
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_setting('data_directory')")
            reported = str(cur.fetchone()[0])
    except error as exc:
        reported = f"unknown ({str(exc).strip().splitlines()[0] if str(exc).strip() else exc})"
    else:
        if os.path.realpath(reported) == os.path.realpath(data_dir):
            _proven.add(data_dir)
            guard_engines()
            return
    set_vars = libpq_environment()
    blame = (
        f" libpq's environment sets {_listed(set_vars)}: unset "
        f"{'it' if len(set_vars) == 1 else 'them'} for the test run."
        if set_vars
        else ""
    )
    raise UnsafeDatabaseError(
        f"Refusing to use the server that answered at {render_url(url)!r}: that is the "
        "socket directory of the throwaway PostgreSQL server flask-dbtestcase started, "
        f"but the server that answered is another one (its data directory is {reported}, "
        f"not {data_dir}). Nothing was done on it.{blame} To run the tests on an "
        "existing server, name it with --database-url or TEST_DATABASE_URL."
    )


def prove_throwaway(url: URL) -> None:
    """Prove, once per process and server, that a throwaway server's URL reaches that server.

    Does nothing for a URL that is not a throwaway server's.

    :param url: a database URL.
    """
    data_dir = throwaway_data_dir(url_host(url))
    if data_dir is not None and data_dir not in _proven:
        connect_maintenance(url).close()


def _listed(variables: t.Mapping[str, str]) -> str:
    """Name the variables and their values (a password's value hidden)."""
    return ", ".join(
        f"{name}={'***' if name == 'PGPASSWORD' else value!r}" for name, value in variables.items()
    )


def _unreachable(url: URL, reason: str, data_dir: str | None) -> str:
    """Say why a maintenance connection failed, naming libpq's variables that got in the way."""
    set_vars = libpq_environment()
    if data_dir is not None:
        service = set_vars.get("PGSERVICE")
        if service:
            return (
                "Could not connect to the throwaway PostgreSQL server flask-dbtestcase "
                f"started ({reason}): libpq's environment sets PGSERVICE={service!r}, and "
                "libpq reads that service's definition (from PGSERVICEFILE, "
                "~/.pg_service.conf or PGSYSCONFDIR) for every connection, even one that "
                "gives all of its parameters. Unset PGSERVICE for the test run."
            )
        note = f" libpq's environment sets {_listed(set_vars)}." if set_vars else ""
        return (
            "Could not connect to the throwaway PostgreSQL server flask-dbtestcase "
            f"started ({reason}).{note} Its connections give every parameter libpq's "
            "environment could change; if the server stopped, run the tests again."
        )
    note = (
        f" libpq's environment sets {_listed(set_vars)}, which applies to every "
        "connection parameter the URL does not give: check that it is meant for this server."
        if set_vars
        else ""
    )
    return (
        f"Could not connect to the PostgreSQL server of {render_url(url)!r} ({reason}). "
        "Check that the server is running and reachable at that address, and that the "
        f"user name and password in the URL are right.{note}"
    )


@contextlib.contextmanager
def maintenance_cursor(url: URL) -> t.Iterator[Cursor]:
    """Yield a cursor on the server's maintenance database; the connection is closed after.

    :param url: a database on the server.
    """
    conn = connect_maintenance(url)
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()
