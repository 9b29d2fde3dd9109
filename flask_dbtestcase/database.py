"""Create, clone and destroy test databases, refusing anything else.

Every destructive function first checks that its target is a test
database: one on the throwaway server this package started, or one whose
name starts with ``test_`` (Django's rule). The check runs before any
connection is made, so a wrong URL touches nothing.
"""

from __future__ import annotations

import os
import sys
import time
import typing as t

import psycopg2
import psycopg2.errors
from psycopg2 import sql
from sqlalchemy.engine import URL
from sqlalchemy.engine import make_url as _sa_make_url
from sqlalchemy.exc import ArgumentError

from . import server
from .errors import ConfigurationError
from .errors import UnsafeDatabaseError

#: URLs of the databases this process created, so a runner can destroy them
#: all at the end (:func:`destroy_created_databases`). Databases created with
#: ``keepdb=True`` are not listed: they are meant to be kept.
created_databases: list[URL] = []

_PLAIN_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg2"}
_MAX_NAME = 63  # PostgreSQL silently truncates longer identifiers


def make_url(url: str | URL) -> URL:
    """Parse a PostgreSQL URL, using psycopg2 for the plain schemes.

    SQLAlchemy 2.1 maps ``postgresql://`` to psycopg 3; this package depends
    on psycopg2, so ``postgresql://`` and ``postgres://`` become
    ``postgresql+psycopg2://``. Another explicit PostgreSQL driver is kept.
    """
    if isinstance(url, URL):
        parsed = url
    else:
        try:
            parsed = _sa_make_url(str(url))
        except (ArgumentError, ValueError, TypeError):
            raise ConfigurationError(
                f"{str(url)!r} is not a valid database URL. Give a PostgreSQL"
                " URL such as 'postgresql://user:password@localhost:5432/dbname'."
            ) from None
    if parsed.drivername in _PLAIN_SCHEMES:
        return parsed.set(drivername="postgresql+psycopg2")
    if parsed.get_backend_name() == "postgresql":
        return parsed
    raise ConfigurationError(
        f"The database URL {render_url(parsed)!r} is not a PostgreSQL URL."
        " flask-dbtestcase runs tests on PostgreSQL only: give a URL such as"
        " 'postgresql://user:password@localhost:5432/dbname'."
    )


def render_url(url: str | URL) -> str:
    """The URL as a string with its password hidden, for messages."""
    if isinstance(url, str):
        try:
            url = _sa_make_url(url)
        except (ArgumentError, ValueError):
            return "<unparseable URL>"
    return url.render_as_string(hide_password=True)


def test_database_name(name: str) -> str:
    """Django's rule: ``test_`` + name, unless it already starts with it."""
    return name if name.startswith("test_") else f"test_{name}"


test_database_name.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def _host(url: URL) -> str:
    host = url.query.get("host") or url.host or ""
    if isinstance(host, tuple):
        host = ",".join(host)
    return host


def _where(url: URL) -> str:
    host = _host(url) or "the default local socket"
    return f"{host}:{url.port or 5432}" if not host.startswith("/") else host


def is_test_database(url: str | URL) -> bool:
    """Whether destructive work on ``url`` is allowed."""
    url = make_url(url)
    return server.is_throwaway_url(url) or (url.database or "").startswith("test_")


def check_test_database(url: str | URL, action: str) -> None:
    """Raise :class:`UnsafeDatabaseError` unless ``url`` is a test database."""
    url = make_url(url)
    if not is_test_database(url):
        raise UnsafeDatabaseError(
            f"Refusing to {action} on database {url.database!r} at"
            f" {_where(url)}: it is not a test database. flask-dbtestcase only"
            " creates, changes or drops databases whose name starts with"
            " 'test_' or that live on the throwaway server it started itself."
            " Point the tests at a test database (for example"
            f" {test_database_name(url.database or 'app')!r}) instead."
        )


def same_database(a: str | URL, b: str | URL) -> bool:
    """Whether two URLs name the same database on the same server."""
    a, b = make_url(a), make_url(b)
    return (_host(a), a.port or 5432, a.database) == (_host(b), b.port or 5432, b.database)


def _connect_args(url: URL, database: str) -> dict[str, t.Any]:
    args: dict[str, t.Any] = {"connect_timeout": 10}
    for key, value in url.query.items():
        args[key] = value[-1] if isinstance(value, tuple) else value
    args.update(url.translate_connect_args(username="user", database="dbname"))
    args["dbname"] = database
    return args


def connect_maintenance(url: str | URL) -> t.Any:
    """An autocommit psycopg2 connection to the server's maintenance database.

    That is ``postgres`` (``template1`` if it does not exist, or when
    ``url`` names ``postgres`` itself).
    """
    url = make_url(url)
    names = ["postgres", "template1"]
    if url.database == "postgres":
        names.reverse()
    for name in names:
        try:
            conn = psycopg2.connect(**_connect_args(url, name))
        except psycopg2.OperationalError as exc:
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


def _execute(url: URL, *statements: t.Any) -> list[t.Any]:
    conn = connect_maintenance(url)
    try:
        with conn.cursor() as cur:
            results = []
            for stmt, params in statements:
                cur.execute(stmt, params)
                results.append(cur.fetchall() if cur.description else None)
            return results
    finally:
        conn.close()


def database_exists(url: str | URL) -> bool:
    """Whether the database ``url`` names exists on its server."""
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


def _terminate(cur: t.Any, name: str) -> None:
    cur.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> pg_backend_pid()",
        (name,),
    )


def _drop(cur: t.Any, name: str) -> None:
    _terminate(cur, name)
    stmt = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
    if cur.connection.server_version >= 130000:
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
    """
    url = make_url(url)
    check_test_database(url, "create the test database")
    name = _check_name(url)
    conn = connect_maintenance(url)
    try:
        with conn.cursor() as cur:
            create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if keepdb and _exists(cur, name):
                return
            try:
                cur.execute(create)
            except psycopg2.errors.DuplicateDatabase:
                if keepdb:
                    return
                if not autoclobber:
                    _confirm_clobber(url, interactive)
                _drop(cur, name)
                cur.execute(create)
    finally:
        conn.close()
    if not keepdb:
        _remember(url)


def _exists(cur: t.Any, name: str) -> bool:
    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
    return cur.fetchone() is not None


def _confirm_clobber(url: URL, interactive: bool) -> None:
    if not (interactive and sys.stdin is not None and sys.stdin.isatty()):
        raise ConfigurationError(
            f"The test database {url.database!r} already exists at"
            f" {_where(url)}. Run with --keepdb to reuse it, with --noinput to"
            " drop and re-create it, or drop it yourself."
        )
    answer = input(
        f"Type 'yes' if you would like to try deleting the test database"
        f" {url.database!r}, or 'no' to cancel: "
    )
    if answer.strip() != "yes":
        raise ConfigurationError("Tests cancelled.")


def _remember(url: URL) -> None:
    if not any(same_database(url, known) for known in created_databases):
        created_databases.append(url)


def _forget(url: URL) -> None:
    created_databases[:] = [u for u in created_databases if not same_database(u, url)]


def destroy_test_database(url: str | URL) -> None:
    """Disconnect everyone from the test database and drop it."""
    url = make_url(url)
    check_test_database(url, "drop the database")
    name = _check_name(url)
    conn = connect_maintenance(url)
    try:
        with conn.cursor() as cur:
            _drop(cur, name)
    finally:
        conn.close()
    _forget(url)


def clone_test_database(url: str | URL, suffix: str) -> URL:
    """Copy the test database to ``<name>_<suffix>`` and return its URL.

    An earlier clone of the same name is replaced. Connections to the
    source are closed first: PostgreSQL copies only an idle template.
    """
    source = make_url(url)
    target = source.set(database=f"{source.database}_{suffix}")
    check_test_database(source, "clone the database")
    check_test_database(target, "create the database")
    name = _check_name(source)
    clone = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(_check_name(target)), sql.Identifier(name)
    )
    conn = connect_maintenance(source)
    try:
        with conn.cursor() as cur:
            _drop(cur, target.database)
            for attempt in range(50):
                _terminate(cur, name)
                try:
                    cur.execute(clone)
                    break
                except psycopg2.errors.ObjectInUse:
                    if attempt == 49:
                        raise ConfigurationError(
                            f"Could not copy the test database {name!r}: other"
                            " connections to it kept coming back. Close them"
                            " (other test runs, database tools) and try again."
                        ) from None
                    time.sleep(0.05)
    finally:
        conn.close()
    _remember(target)
    return target


def bind_database_url(url: str | URL, bind_key: str) -> URL:
    """The test database for a Flask-SQLAlchemy bind: ``<name>_<bind_key>``."""
    url = make_url(url)
    return url.set(database=f"{url.database}_{bind_key}")


def destroy_created_databases() -> None:
    """Drop every database this process created, the newest first.

    Databases of a throwaway server that is already gone are skipped. The
    first error is raised after every database was tried.
    """
    first_error: Exception | None = None
    for url in reversed(list(created_databases)):
        host = _host(url)
        gone = not os.path.isdir(host) or (  # or it died during the run
            os.path.exists(os.path.join(host, server._MARKER)) and not server.is_throwaway_url(url))
        if host.startswith("/") and gone:
            _forget(url)
            continue
        try:
            destroy_test_database(url)
        except Exception as exc:  # keep going: drop as much as possible
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
