"""Create, clone and destroy test databases, refusing anything else.

Every destructive function first checks that its target is a test
database: one on the throwaway server this package started (proven to be
it by the maintenance connection, :mod:`.maintenance`), or one whose name
starts with ``test_`` (Django's rule). The check of the name runs before
any connection is made, so a wrong URL touches nothing.
"""

from __future__ import annotations

import dataclasses
import sys
import time
import typing as t

from sqlalchemy.engine import URL

from ..errors import ConfigurationError
from .drivers import url_driver
from .maintenance import maintenance_cursor
from .safety import check_test_database
from .urls import describe_location, render_url

__all__ = [
    "Timeouts",
    "clone_test_database",
    "create_test_database",
    "database_exists",
    "destroy_test_database",
]

#: PostgreSQL silently truncates longer identifiers.
_MAX_NAME = 63

#: A DB-API cursor of the run's driver (psycopg or psycopg2): the calls made
#: here are the same on both.
Cursor = t.Any


@dataclasses.dataclass(frozen=True)
class Timeouts:
    """The bounds set on each test database, which every connection to it gets.

    :param lock: ``lock_timeout`` (``"0"``: none).
    :param statement: ``statement_timeout`` (``"0"``: none).
    """

    lock: str = "10s"
    statement: str = "0"


def _execute(url: URL, *statements: t.Any) -> list[t.Any]:
    with maintenance_cursor(url) as cur:
        results = []
        for stmt, params in statements:
            cur.execute(stmt, params)
            results.append(cur.fetchall() if cur.description else None)
        return results


def database_exists(url: URL) -> bool:
    """Tell whether the database ``url`` names exists on its server.

    :param url: a database URL.
    """
    query = "SELECT 1 FROM pg_database WHERE datname = %s"
    return bool(_execute(url, (query, (url.database,)))[0])


def _check_name(url: URL) -> str:
    name = url.database
    if not name:
        raise ConfigurationError(
            f"The database URL {render_url(url)!r} names no database. Add one"
            " at its end, for example '.../test_app'."
        )
    if len(name.encode()) > _MAX_NAME:
        raise ConfigurationError(
            f"The database name {name!r} is longer than PostgreSQL's limit of"
            f" {_MAX_NAME} bytes, and PostgreSQL would silently shorten it."
            " Use a shorter database name."
        )
    return name


def _sql(url: URL) -> t.Any:
    """The ``sql`` module of the driver ``url`` names (the same composition API on both)."""
    return url_driver(url).sql


def _errors(url: URL) -> t.Any:
    """The ``errors`` module of the driver ``url`` names (the same class names on both)."""
    return url_driver(url).errors


def _terminate(cur: Cursor, name: str) -> None:
    cur.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> pg_backend_pid()",
        (name,),
    )


def _drop(cur: Cursor, name: str, sql: t.Any) -> None:
    _terminate(cur, name)
    stmt = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
    if cur.connection.info.server_version >= 130000:
        stmt = stmt + sql.SQL(" WITH (FORCE)")
    cur.execute(stmt)


def create_test_database(
    url: URL,
    timeouts: Timeouts,
    *,
    keepdb: bool = False,
    interactive: bool = True,
    autoclobber: bool = False,
) -> bool:
    """Create the test database, Django's way; return whether it was created.

    If it exists already: reuse it with ``keepdb``; replace it with
    ``autoclobber``; ask on a terminal when ``interactive``; refuse otherwise.

    :param url: the test database's URL.
    :param timeouts: the bounds every connection to it gets.
    :param keepdb: reuse an existing database.
    :param interactive: ask before replacing an existing database.
    :param autoclobber: replace an existing database without asking.
    """
    check_test_database(url, "create the test database", prove=False)
    name = _check_name(url)
    sql = _sql(url)
    with maintenance_cursor(url) as cur:
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if keepdb and _exists(cur, name):
            _bound_waits(cur, name, timeouts, sql)
            return False
        try:
            cur.execute(create)
        except _errors(url).DuplicateDatabase:
            if keepdb:
                _bound_waits(cur, name, timeouts, sql)
                return False
            if not autoclobber:
                _confirm_clobber(url, interactive)
            _drop(cur, name, sql)
            cur.execute(create)
        _bound_waits(cur, name, timeouts, sql)
    return True


def _bound_waits(cur: Cursor, name: str, timeouts: Timeouts, sql: t.Any) -> None:
    """Give the database the run's ``lock_timeout`` and ``statement_timeout``.

    Set on the database itself, they bind every connection to it, also the
    ones the framework did not open (the app's own engine, a worker's
    ``psycopg2.connect``), on an existing server as on the throwaway one: a
    wait on a lock the test class holds fails instead of hanging the run.
    """
    for parameter, value in (
        ("lock_timeout", timeouts.lock),
        ("statement_timeout", timeouts.statement),
    ):
        if value and value.strip() not in ("0", ""):
            cur.execute(
                sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                    sql.Identifier(name), sql.Identifier(parameter), sql.Literal(value.strip())
                )
            )


def _exists(cur: Cursor, name: str) -> bool:
    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
    return cur.fetchone() is not None


def _confirm_clobber(url: URL, interactive: bool) -> None:
    if not (interactive and sys.stdin is not None and sys.stdin.isatty()):
        raise ConfigurationError(
            f"The test database {url.database!r} already exists at"
            f" {describe_location(url)}. Run with --keepdb to reuse it, with --noinput to"
            " drop and re-create it, or drop it yourself."
        )
    answer = input(
        f"Type 'yes' if you would like to try deleting the test database"
        f" {url.database!r}, or 'no' to cancel: "
    )
    if answer.strip() != "yes":
        raise ConfigurationError("Tests cancelled.")


def destroy_test_database(url: URL) -> None:
    """Disconnect everyone from the test database and drop it.

    :param url: the test database's URL.
    """
    check_test_database(url, "drop the database", prove=False)
    name = _check_name(url)
    with maintenance_cursor(url) as cur:
        _drop(cur, name, _sql(url))


def clone_test_database(url: URL, suffix: str, timeouts: Timeouts) -> URL:
    """Copy the test database to ``<name>_<suffix>`` and return its URL.

    An earlier clone of the same name is replaced. Connections to the
    source are closed first: PostgreSQL copies only an idle template.

    :param url: the test database's URL.
    :param suffix: what the clone's name adds, such as a worker's number.
    :param timeouts: the bounds every connection to the clone gets.
    """
    target = url.set(database=f"{url.database}_{suffix}")
    check_test_database(url, "clone the database", prove=False)
    check_test_database(target, "create the database", prove=False)
    name = _check_name(url)
    target_name = _check_name(target)
    sql = _sql(url)
    clone = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(target_name), sql.Identifier(name)
    )
    with maintenance_cursor(url) as cur:
        _drop(cur, target_name, sql)
        for attempt in range(50):
            _terminate(cur, name)
            try:
                cur.execute(clone)
                break
            except _errors(url).ObjectInUse:
                if attempt == 49:
                    raise ConfigurationError(
                        f"Could not copy the test database {name!r}: other"
                        " connections to it kept coming back. Close them"
                        " (other test runs, database tools) and try again."
                    ) from None
                time.sleep(0.05)
        _bound_waits(cur, target_name, timeouts, sql)  # a template does not pass its settings on
    return target
