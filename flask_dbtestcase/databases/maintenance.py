"""Connections to a server's maintenance database, for the work no test database can do.

Creating, cloning and dropping databases, cancelling queries, marking a
database: all of it runs on an autocommit connection to the server's
``postgres`` database (``template1`` where that does not exist), in the
run's driver.
"""

from __future__ import annotations

import contextlib
import typing as t

from sqlalchemy.engine import URL

from ..errors import ConfigurationError
from .drivers import current_driver
from .urls import make_url, render_url

__all__ = ["Connection", "Cursor", "connect_maintenance", "maintenance_cursor"]

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


def connect_maintenance(url: str | URL) -> Connection:
    """Open an autocommit connection to the server's maintenance database.

    It uses the run's driver (see :mod:`.drivers`).

    That is ``postgres`` (``template1`` if it does not exist, or when
    ``url`` names ``postgres`` itself).

    :param url: a database on the server.
    """
    url = make_url(url)
    driver = current_driver().module
    names = ["postgres", "template1"]
    if url.database == "postgres":
        names.reverse()
    for name in names:
        try:
            conn = driver.connect(**_connect_args(url, name))
        except driver.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            if name == names[0] and f'database "{name}" does not exist' in reason:
                continue
            raise ConfigurationError(
                f"Could not connect to the PostgreSQL server of"
                f" {render_url(url)!r} ({reason}). Check that the server is"
                " running and reachable at that address, and that the user name"
                " and password in the URL are right."
            ) from None
        conn.autocommit = True
        return conn
    raise AssertionError("unreachable")  # pragma: no cover


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
