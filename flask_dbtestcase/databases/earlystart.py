"""The throwaway server, started in the background while the tests load.

The runner starts it first (:func:`start_early`): the test modules import
the app, Flask and SQLAlchemy meanwhile (a few hundred ms), and
:func:`~.lifecycle.open_test_databases` takes what it made.
"""

from __future__ import annotations

import dataclasses
import os
import time
import typing as t

from sqlalchemy.engine import URL

from ..postgres.background import Background
from . import creation
from .config import THROWAWAY_DATABASE, DatabasesConfig
from .urls import parse_test_url

if t.TYPE_CHECKING:
    from ..postgres.server import ThrowawayServer

__all__ = ["EarlyServer", "start_early", "start_throwaway"]


#: What the early start hands over: the server, how long it took to start,
#: and the error of creating its test database.
_Started = tuple["ThrowawayServer", float, "BaseException | None"]


@dataclasses.dataclass
class EarlyServer:
    """A throwaway server and its test database, started while the tests load.

    :param job: the thread starting them.
    :param keepdb: whether it runs on the kept data.
    """

    job: Background[_Started]
    keepdb: bool
    taken: bool = False

    def take(self) -> _Started:
        """Wait for the start; return what it made, or raise why the server did not start."""
        self.taken = True
        return self.job.result()

    def discard(self) -> None:
        """End the early start: stop the server unless a run took it; let the thread end."""
        try:
            if not self.taken:
                self.taken = True
                try:
                    server, _, _ = self.job.result()
                except Exception:  # it did not start: nothing to stop
                    return
                server.stop()
        finally:
            self.job.release()


def start_throwaway(
    config: DatabasesConfig, keepdb: bool, project: str
) -> tuple[ThrowawayServer, URL, bool]:
    """Start a throwaway server and create its test database; return both and whether created.

    :param config: the run's databases configuration.
    :param keepdb: run on the project's kept data, and reuse its test database.
    :param project: keys the kept data directory.
    """
    # Imported here, where a server is started: testing.postgresql imports pg8000.
    from ..postgres.server import ThrowawayServer

    server = ThrowawayServer.start(config.server, keepdb=keepdb, project=project)
    try:
        url = parse_test_url(server.url(THROWAWAY_DATABASE, config.driver), config.driver)
        created = creation.create_test_database(
            url, config.timeouts, keepdb=keepdb, interactive=False, autoclobber=True
        )
    except BaseException:
        server.stop()
        raise
    return server, url, created


def start_early(
    config: DatabasesConfig, keepdb: bool = False, project: str | None = None
) -> EarlyServer:
    """Start the run's throwaway server and its test database in the background.

    They are built while the tests load (the test modules import the app,
    Flask and SQLAlchemy, a few hundred ms) and handed to
    :func:`open_test_databases`.

    :param config: the run's databases configuration.
    :param keepdb: reuse the kept test database and data directory.
    :param project: keys the kept data directory (default: the current directory).
    """

    def start() -> _Started:
        started = time.perf_counter()
        # Imported in this thread: pg8000's import (testing.postgresql's) overlaps
        # with the tests' imports in the main thread instead of delaying them.
        from ..postgres.server import ThrowawayServer

        server = ThrowawayServer.start(config.server, keepdb=keepdb, project=project or os.getcwd())
        elapsed = time.perf_counter() - started
        try:
            url = parse_test_url(server.url(THROWAWAY_DATABASE, config.driver), config.driver)
            creation.create_test_database(
                url, config.timeouts, keepdb=keepdb, interactive=False, autoclobber=True
            )
        except BaseException as exc:  # raised by open_test_databases, which stops the server
            return server, elapsed, exc
        return server, elapsed, None

    return EarlyServer(Background(start, "flask-dbtestcase server start"), keepdb)
