"""A test class's databases and their shared connections.

A :class:`~flask_dbtestcase.FlaskDBTestCase` pins the databases of its
engines for as long as it runs (:func:`pin_databases`): every engine on
them, the app's and any the app makes later, gets the one shared
connection to each (opened with the options of the app's engine on it).
A :class:`~flask_dbtestcase.FlaskDBTransactionTestCase` routes them to
real connections (:func:`unpin_databases`), whatever an enclosing class pins.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa

from ..databases.urls import database_key
from ..errors import ConfigurationError
from ..isolation.engines import PinnedConnection, Pins
from ..isolation.routing import Routing, async_refusal, route
from .appkinds import AppDatabase

__all__ = ["Pinned", "databases_of", "pin_databases", "unpin_databases"]


def databases_of(engines: t.Iterable[sa.Engine]) -> list[sa.URL]:
    """Return the databases of ``engines``, each once.

    :param engines: engines.
    """
    return list({database_key(engine.url): engine.url for engine in engines}.values())


def pin_databases(
    pins: Pins, database: AppDatabase, engines: t.Iterable[sa.Engine], owner: str
) -> Pinned:
    """Pin the databases of ``engines`` (until :meth:`Pinned.stop`).

    An app with async engines is refused first: they cannot share the connection.

    :param pins: the run's shared connections.
    :param database: the app's database layer.
    :param engines: the class's engines.
    :param owner: the test class's name, for the messages.
    """
    if database.async_engines:
        name, engine = next(iter(database.async_engines.items()))
        what = f"The app built for {owner}: its async engine {name!r}"
        raise ConfigurationError(async_refusal(what, engine.dialect.driver))
    engines = list(engines)
    urls = databases_of(engines)
    return Pinned(route(pins, urls), urls, engines)


def unpin_databases(engines: t.Iterable[sa.Engine]) -> t.Callable[[], None]:
    """Give every engine on the databases of ``engines`` real connections; return what undoes it.

    :param engines: the class's engines.
    """
    return route(None, databases_of(engines)).stop


class Pinned:
    """A test class's pinned databases.

    :param routing: the route that pins them.
    :param urls: the databases.
    :param engines: the class's engines on them (each database's shared
        connection is opened with its engine's options).
    """

    def __init__(self, routing: Routing, urls: list[sa.URL], engines: list[sa.Engine]) -> None:
        self._routing = routing
        self.urls = urls
        self._engines = {database_key(e.url): e for e in reversed(engines)}
        self.stop = routing.stop

    def databases(self) -> list[tuple[PinnedConnection, sa.URL]]:
        """Return the databases, each with its shared connection (opened if needed)."""
        engines = self._engines
        return [
            (self._routing.connection(url, engines.get(database_key(url))), url)
            for url in self.urls
        ]

    def connections(self) -> list[PinnedConnection]:
        """Return the shared connections of the databases, each once."""
        return list({id(conn): conn for conn, _ in self.databases()}.values())
