"""The pytest session's test database: created on first use, destroyed at the end.

The one door of the databases layer does the work, as for the runner
(SPEC section 2: the database handed over, an existing server, or a
throwaway one; the safety checks; nothing left after a failure or Ctrl-C),
with pytest-django's
options: ``--reuse-db`` is ``--keepdb``, ``--create-db`` re-creates a reused
database. Under pytest-xdist the controller does it (:mod:`.broker`).
"""

from __future__ import annotations

import dataclasses
import typing as t

import pytest

if t.TYPE_CHECKING:
    from ..databases.earlystart import EarlyServer
    from ..databases.lifecycle import TestDatabases
    from ..settings import Settings

__all__ = ["DatabaseOptions", "set_up", "tear_down"]


@dataclasses.dataclass(frozen=True)
class DatabaseOptions:
    """The command line options about the test database.

    :param reuse_db: ``--reuse-db``: keep the database at the end, reuse it next time.
    :param create_db: ``--create-db``: re-create it even with ``--reuse-db``.
    :param database_url: ``--database-url``: an existing server.
    :param verbosity: pytest's ``-v`` count; progress is shown from ``-vv``.
    :param project: keys the throwaway server's kept data with ``--reuse-db``.
    """

    reuse_db: bool = False
    create_db: bool = False
    database_url: str | None = None
    verbosity: int = 0
    project: str | None = None

    @classmethod
    def from_config(cls, config: pytest.Config) -> DatabaseOptions:
        """Read the options from pytest's configuration.

        :param config: pytest's configuration.
        """
        return cls(
            reuse_db=bool(config.getoption("flask_dbtestcase_reuse_db", False)),
            create_db=bool(config.getoption("flask_dbtestcase_create_db", False)),
            database_url=config.getoption("flask_dbtestcase_database_url", None),
            verbosity=int(config.getoption("verbose", 0) or 0),
            project=str(config.rootpath),
        )

    @property
    def given(self) -> bool:
        """Whether any of the database options was given."""
        return self.reuse_db or self.create_db or bool(self.database_url)


def _log(verbosity: int) -> t.Callable[[str, int], None]:
    def log(message: str, level: int) -> None:
        if verbosity >= level or level == 0:
            print(f"flask-dbtestcase: {message}", flush=True)

    return log


def set_up(
    options: DatabaseOptions,
    settings: Settings,
    hand_over: bool = True,
    early: EarlyServer | None = None,
) -> TestDatabases:
    """Open the run's test databases as the runner does, without asking anything.

    :param options: the command line options.
    :param settings: the session's settings.
    :param hand_over: hand the database to child processes, install the signal handling.
    :param early: the throwaway server started while the tests loaded, if any.
    """
    from ..databases import creation
    from ..databases.lifecycle import open_test_databases

    keepdb = options.reuse_db
    databases = open_test_databases(
        settings.databases_config(),
        log=_log(options.verbosity),
        database_url=options.database_url,
        keepdb=keepdb,
        interactive=False,
        project=options.project,
        hand_over=hand_over,
        early=early,
    )
    if options.create_db and keepdb and databases.mode in ("server", "throwaway"):
        creation.destroy_test_database(databases.url)
        creation.create_test_database(databases.url, databases.config.timeouts, keepdb=True)
    return databases


def tear_down(databases: TestDatabases, options: DatabaseOptions) -> None:
    """Undo :func:`set_up`: drop what it created (unless ``--reuse-db``), stop the server.

    :param databases: what :func:`set_up` opened.
    :param options: the command line options.
    """
    databases.close(_log(options.verbosity))
