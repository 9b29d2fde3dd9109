"""The pytest session's test database: created on first use, destroyed at the end.

The runner's own set-up and teardown do the work (SPEC section 2: the
database handed over, an existing server, or a throwaway one; the safety
checks; nothing left after a failure or Ctrl-C), with pytest-django's
options: ``--reuse-db`` is ``--keepdb``, ``--create-db`` re-creates a reused
database. Under pytest-xdist the controller does it (:mod:`.broker`).
"""

from __future__ import annotations

import dataclasses
import typing as t

import pytest

if t.TYPE_CHECKING:
    from ..runner.databases import DatabaseState

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


def set_up(options: DatabaseOptions) -> DatabaseState:
    """Create the run's test database as the runner does, without asking anything.

    :param options: the command line options.
    """
    from ..databases import creation, urls
    from ..runner.databases import DatabaseState, setup_databases

    state = DatabaseState()
    keepdb = options.reuse_db
    setup_databases(
        state,
        _log(options.verbosity),
        database_url=options.database_url,
        keepdb=keepdb,
        interactive=False,
        project=options.project,
    )
    if options.create_db and keepdb and state.mode in ("server", "throwaway") and state.url:
        url = urls.make_url(state.url)
        creation.destroy_test_database(url)
        creation.create_test_database(url, keepdb=True)
    return state


def tear_down(state: DatabaseState, options: DatabaseOptions) -> None:
    """Undo :func:`set_up`: drop what it created (unless ``--reuse-db``), stop the server.

    :param state: what :func:`set_up` did.
    :param options: the command line options.
    """
    from ..runner.databases import teardown_databases

    teardown_databases(state, _log(options.verbosity), keepdb=options.reuse_db)
