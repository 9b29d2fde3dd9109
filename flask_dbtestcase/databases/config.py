"""What decides the run's test databases, settled once at the edge."""

from __future__ import annotations

import dataclasses

from ..postgres.serverconfig import ServerConfig
from .creation import Timeouts

__all__ = ["THROWAWAY_DATABASE", "DatabasesConfig"]

#: The database created on the throwaway server.
THROWAWAY_DATABASE = "test_db"


@dataclasses.dataclass(frozen=True)
class DatabasesConfig:
    """What decides the run's test databases, settled once at the edge.

    :param driver: the run's driver, ``"psycopg"`` or ``"psycopg2"``.
    :param server: the throwaway server's configuration.
    :param timeouts: the bounds every connection to a test database gets.
    :param given_url: a test database handed over (``FLASK_DBTESTCASE_DATABASE_URL``).
    :param existing_server: an existing server to create ``test_<name>`` on
        (``TEST_DATABASE_URL``; ``--database-url`` wins).
    """

    driver: str
    server: ServerConfig
    timeouts: Timeouts = Timeouts()
    given_url: str | None = None
    existing_server: str | None = None
