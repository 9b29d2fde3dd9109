"""PostgreSQL URLs: parsing (once, at the edge), naming test databases, comparing, printing.

A URL is parsed once where it enters the run (a setting, a command line
option, the environment's hand-over) into an immutable ``sqlalchemy.URL``
that names the run's driver (:func:`parse_test_url`), and travels as that
object; it is rendered back to text only for messages (:func:`render_url`)
and for the hand-over to child processes.
"""

from __future__ import annotations

from sqlalchemy.engine import URL
from sqlalchemy.engine import make_url as _sa_make_url
from sqlalchemy.exc import ArgumentError

from ..errors import ConfigurationError
from .drivers import DRIVERS

__all__ = [
    "bind_database_url",
    "database_key",
    "describe_location",
    "parse_test_url",
    "parse_url",
    "render_url",
    "same_database",
    "test_database_name",
    "url_host",
    "with_driver",
]

#: The schemes that become ``postgresql+<the run's driver>``.
_DRIVER_SCHEMES = {"postgresql", *(f"postgresql+{name}" for name in DRIVERS)}


def parse_test_url(url: str | URL, driver: str) -> URL:
    """Parse a PostgreSQL URL where it enters the run, naming the run's driver in it.

    ``postgresql://``, ``postgres://`` and the supported drivers' own schemes
    (``postgresql+psycopg2://``, ``postgresql+psycopg://``) become
    ``postgresql+<driver>://``: a URL names the server and the database, the
    ``driver`` setting the driver. Another explicit PostgreSQL driver is kept.

    :param url: a database URL.
    :param driver: the run's driver (``"psycopg"`` or ``"psycopg2"``).
    """
    return with_driver(parse_url(url), driver)


def with_driver(url: URL, driver: str) -> URL:
    """Return ``url`` naming ``driver``, unless it names another explicit driver.

    :param url: a PostgreSQL URL.
    :param driver: ``"psycopg"`` or ``"psycopg2"``.
    """
    if url.drivername in _DRIVER_SCHEMES:
        return url.set(drivername=f"postgresql+{driver}")
    return url


def parse_url(url: str | URL) -> URL:
    """Parse a PostgreSQL URL as it is, its driver untouched (or say why it is not one).

    :param url: a database URL.
    """
    parsed = url if isinstance(url, URL) else _parse(str(url))
    backend, plus, driver = parsed.drivername.partition("+")
    if backend == "postgres":  # Heroku's spelling, which SQLAlchemy 1.4 dropped
        parsed = parsed.set(drivername=f"postgresql{plus}{driver}")
    if parsed.get_backend_name() == "postgresql":
        return parsed
    raise ConfigurationError(
        f"The database URL {render_url(parsed)!r} is not a PostgreSQL URL."
        " flask-dbtestcase runs tests on PostgreSQL only: give a URL such as"
        " 'postgresql://user:password@localhost:5432/dbname'."
    )


def _parse(url: str) -> URL:
    try:
        return _sa_make_url(url)
    except (ArgumentError, ValueError, TypeError):
        raise ConfigurationError(
            f"{url!r} is not a valid database URL. Give a PostgreSQL"
            " URL such as 'postgresql://user:password@localhost:5432/dbname'."
        ) from None


def render_url(url: str | URL) -> str:
    """Return the URL as a string with its password hidden, for messages.

    :param url: a database URL (text that does not parse is not shown).
    """
    if isinstance(url, str):
        try:
            url = _sa_make_url(url)
        except (ArgumentError, ValueError):
            return "<unparseable URL>"
    return url.render_as_string(hide_password=True)


def test_database_name(name: str) -> str:
    """Return the test database's name: ``test_`` + name, unless it already starts with it.

    That is Django's rule.

    :param name: a database name.
    """
    return name if name.startswith("test_") else f"test_{name}"


def url_host(url: URL) -> str:
    """Return the host of ``url``: a name, an address or a socket directory.

    :param url: a database URL.
    """
    host = url.query.get("host") or url.host or ""
    if isinstance(host, tuple):
        host = ",".join(host)
    return host


def describe_location(url: URL) -> str:
    """Return where ``url``'s server is, for messages: ``host:port`` or the socket directory.

    :param url: a database URL.
    """
    host = url_host(url) or "the default local socket"
    return f"{host}:{url.port or 5432}" if not host.startswith("/") else host


def same_database(a: URL, b: URL) -> bool:
    """Tell whether two URLs name the same database on the same server.

    The driver does not matter: ``postgresql+psycopg://`` and
    ``postgresql+psycopg2://`` of one database are the same database.

    :param a: a database URL.
    :param b: another.
    """
    return database_key(a) == database_key(b)


def database_key(url: URL) -> tuple[str, int, str]:
    """Return what identifies the database ``url`` names: its server's host and port, its name.

    :param url: a database URL.
    """
    return (url_host(url), url.port or 5432, url.database or "")


def bind_database_url(url: URL, bind_key: str) -> URL:
    """Return the test database for a Flask-SQLAlchemy bind: ``<name>_<bind_key>``.

    :param url: the main test database's URL.
    :param bind_key: the bind's key in ``SQLALCHEMY_BINDS``.
    """
    return url.set(database=f"{url.database}_{bind_key}")


test_database_name.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
