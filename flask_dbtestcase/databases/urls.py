"""PostgreSQL URLs: parsing, naming test databases, comparing, printing safely."""

from __future__ import annotations

import functools

from sqlalchemy.engine import URL
from sqlalchemy.engine import make_url as _sa_make_url
from sqlalchemy.exc import ArgumentError

from ..errors import ConfigurationError
from .drivers import DRIVERS, current_driver

__all__ = [
    "bind_database_url",
    "describe_location",
    "make_url",
    "parse_url",
    "render_url",
    "same_database",
    "test_database_name",
    "url_host",
]

#: The schemes that become ``postgresql+<the run's driver>``.
_DRIVER_SCHEMES = {"postgresql", *(f"postgresql+{name}" for name in DRIVERS)}


def make_url(url: str | URL) -> URL:
    """Parse a PostgreSQL URL, naming the run's driver in it.

    ``postgresql://``, ``postgres://`` and the supported drivers' own schemes
    (``postgresql+psycopg2://``, ``postgresql+psycopg://``) become
    ``postgresql+<driver>://``, the driver the ``driver`` setting decides
    (see :mod:`.drivers`): a URL names the server and the database, the
    setting the driver. Another explicit PostgreSQL driver is kept.

    :param url: a database URL.
    """
    driver = current_driver().name
    if isinstance(url, URL):
        return _with_driver(parse_url(url), driver)
    return _make_url(str(url), driver)


# Every test class asks for the same URL: the same object each time, so
# render_url() renders it once.
@functools.lru_cache(maxsize=64)
def _make_url(url: str, driver: str) -> URL:
    return _with_driver(parse_url(url), driver)


def _with_driver(parsed: URL, driver: str) -> URL:
    if parsed.drivername in _DRIVER_SCHEMES:
        return parsed.set(drivername=f"postgresql+{driver}")
    return parsed


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


# URLs are immutable, and every test class parses the same few: parse each once.
@functools.lru_cache(maxsize=64)
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

    :param url: a database URL.
    """
    if isinstance(url, str):
        try:
            url = _sa_make_url(url)
        except (ArgumentError, ValueError):
            return "<unparseable URL>"
    known = _rendered.get(id(url))
    if known is not None and known[0] is url:
        return known[1]
    text = url.render_as_string(hide_password=True)
    if len(_rendered) >= 64:
        _rendered.clear()
    _rendered[id(url)] = (url, text)  # the URL is kept, so its id is not reused
    return text


# render_url()'s recent results (render_as_string takes ~8 µs, hashing a URL ~9 µs),
# by the identity of the URL: URLs are immutable.
_rendered: dict[int, tuple[URL, str]] = {}


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


def same_database(a: str | URL, b: str | URL) -> bool:
    """Tell whether two URLs name the same database on the same server.

    The driver does not matter: ``postgresql+psycopg://`` and
    ``postgresql+psycopg2://`` of one database are the same database.

    :param a: a database URL.
    :param b: another.
    """
    a, b = parse_url(a), parse_url(b)
    return (url_host(a), a.port or 5432, a.database) == (url_host(b), b.port or 5432, b.database)


def bind_database_url(url: str | URL, bind_key: str) -> URL:
    """Return the test database for a Flask-SQLAlchemy bind: ``<name>_<bind_key>``.

    :param url: the main test database's URL.
    :param bind_key: the bind's key in ``SQLALCHEMY_BINDS``.
    """
    url = make_url(url)
    return url.set(database=f"{url.database}_{bind_key}")


test_database_name.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
