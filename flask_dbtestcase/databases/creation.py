"""Create, clone and destroy test databases, refusing anything else.

Every destructive function first checks that its target is a test
database: one on the throwaway server this package started (proven to be
it by the maintenance connection, :mod:`.maintenance`), or one whose name
starts with ``test_`` (Django's rule). The check of the name runs before
any connection is made, so a wrong URL touches nothing.
"""

from __future__ import annotations

import os
import sys
import time
import typing as t

from sqlalchemy.engine import URL

from ..errors import ConfigurationError
from ..postgres.identity import MARKER, is_throwaway_url
from ..state import STATE
from .drivers import current_driver
from .maintenance import maintenance_cursor
from .safety import check_test_database
from .urls import describe_location, make_url, render_url, same_database, url_host

__all__ = [
    "clone_test_database",
    "create_test_database",
    "database_exists",
    "destroy_created_databases",
    "destroy_test_database",
    "forget_databases_on",
]

#: PostgreSQL silently truncates longer identifiers.
_MAX_NAME = 63

#: A DB-API cursor of the run's driver (psycopg or psycopg2): the calls made
#: here are the same on both.
Cursor = t.Any

# The databases this process created live in STATE.created_databases, so a
# runner can destroy them all at the end (destroy_created_databases).
# Databases created with keepdb=True are not listed: they are meant to be kept.


def _execute(url: URL, *statements: t.Any) -> list[t.Any]:
    with maintenance_cursor(url) as cur:
        results = []
        for stmt, params in statements:
            cur.execute(stmt, params)
            results.append(cur.fetchall() if cur.description else None)
        return results


def database_exists(url: str | URL) -> bool:
    """Tell whether the database ``url`` names exists on its server.

    :param url: a database URL.
    """
    url = make_url(url)
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


def _sql() -> t.Any:
    """The run's driver's ``sql`` module (the same composition API on both)."""
    return current_driver().module.sql


def _errors() -> t.Any:
    """The run's driver's ``errors`` module (the same class names on both)."""
    return current_driver().module.errors


def _terminate(cur: Cursor, name: str) -> None:
    cur.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> pg_backend_pid()",
        (name,),
    )


def _drop(cur: Cursor, name: str) -> None:
    _terminate(cur, name)
    sql = _sql()
    stmt = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
    if cur.connection.info.server_version >= 130000:
        stmt = stmt + sql.SQL(" WITH (FORCE)")
    cur.execute(stmt)


def create_test_database(
    url: str | URL,
    *,
    keepdb: bool = False,
    interactive: bool = True,
    autoclobber: bool = False,
) -> None:
    """Create the test database, Django's way.

    If it exists already: reuse it with ``keepdb``; replace it with
    ``autoclobber``; ask on a terminal when ``interactive``; refuse otherwise.

    :param url: the test database's URL.
    :param keepdb: reuse an existing database, and do not list it for
        :func:`destroy_created_databases`.
    :param interactive: ask before replacing an existing database.
    :param autoclobber: replace an existing database without asking.
    """
    url = make_url(url)
    check_test_database(url, "create the test database", prove=False)
    name = _check_name(url)
    sql = _sql()
    with maintenance_cursor(url) as cur:
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if keepdb and _exists(cur, name):
            _bound_waits(cur, name)
            return
        try:
            cur.execute(create)
        except _errors().DuplicateDatabase:
            if keepdb:
                _bound_waits(cur, name)
                return
            if not autoclobber:
                _confirm_clobber(url, interactive)
            _drop(cur, name)
            cur.execute(create)
        _bound_waits(cur, name)
    if not keepdb:
        _remember(url)


def _bound_waits(cur: Cursor, name: str) -> None:
    """Give the database the run's ``lock_timeout`` and ``statement_timeout``.

    Set on the database itself, they bind every connection to it, also the
    ones the framework did not open (the app's own engine, a worker's
    ``psycopg2.connect``), on an existing server as on the throwaway one: a
    wait on a lock the test class holds fails instead of hanging the run.
    """
    settings = STATE.current_settings()
    sql = _sql()
    for parameter, value in (
        ("lock_timeout", settings.lock_timeout),
        ("statement_timeout", settings.statement_timeout),
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


def _remember(url: URL) -> None:
    if not any(same_database(url, known) for known in STATE.created_databases):
        STATE.created_databases.append(url)


def _forget(url: URL) -> None:
    STATE.created_databases[:] = [u for u in STATE.created_databases if not same_database(u, url)]


def destroy_test_database(url: str | URL) -> None:
    """Disconnect everyone from the test database and drop it.

    :param url: the test database's URL.
    """
    url = make_url(url)
    check_test_database(url, "drop the database", prove=False)
    name = _check_name(url)
    with maintenance_cursor(url) as cur:
        _drop(cur, name)
    _forget(url)


def clone_test_database(url: str | URL, suffix: str) -> URL:
    """Copy the test database to ``<name>_<suffix>`` and return its URL.

    An earlier clone of the same name is replaced. Connections to the
    source are closed first: PostgreSQL copies only an idle template.

    :param url: the test database's URL.
    :param suffix: what the clone's name adds, such as a worker's number.
    """
    source = make_url(url)
    target = source.set(database=f"{source.database}_{suffix}")
    check_test_database(source, "clone the database", prove=False)
    check_test_database(target, "create the database", prove=False)
    name = _check_name(source)
    target_name = _check_name(target)
    sql = _sql()
    clone = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(target_name), sql.Identifier(name)
    )
    with maintenance_cursor(source) as cur:
        _drop(cur, target_name)
        for attempt in range(50):
            _terminate(cur, name)
            try:
                cur.execute(clone)
                break
            except _errors().ObjectInUse:
                if attempt == 49:
                    raise ConfigurationError(
                        f"Could not copy the test database {name!r}: other"
                        " connections to it kept coming back. Close them"
                        " (other test runs, database tools) and try again."
                    ) from None
                time.sleep(0.05)
        _bound_waits(cur, target_name)  # a template does not pass its settings on
    _remember(target)
    return target


def forget_databases_on(host: str) -> None:
    """Forget, without dropping them, the databases this process created on ``host``.

    For a throwaway server about to be stopped: its data goes with it.

    :param host: the server's host (for a throwaway server, its socket directory).
    """
    STATE.created_databases[:] = [u for u in STATE.created_databases if url_host(u) != host]


def destroy_created_databases() -> None:
    """Drop every database this process created, the newest first.

    Databases of a throwaway server that is already gone are skipped. The
    first error is raised after every database was tried.
    """
    first_error: Exception | None = None
    for url in reversed(list(STATE.created_databases)):
        host = url_host(url)
        gone = not os.path.isdir(host) or (  # or it died during the run
            os.path.exists(os.path.join(host, MARKER)) and not is_throwaway_url(url)
        )
        if host.startswith("/") and gone:
            _forget(url)
            continue
        try:
            destroy_test_database(url)
        except Exception as exc:  # keep going: drop as much as possible
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
