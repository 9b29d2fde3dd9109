"""The process around a run: ``sys.path``, ``--debug-sql`` and the throwaway
server started while the tests load, set up before the tests and given back
after them (:class:`RunEnvironment`).

The signal handling and the hand-over of the test database belong to the
databases (:mod:`flask_dbtestcase.databases.handover`).
"""

from __future__ import annotations

import functools
import os
import sys
import typing as t

from ..state import Run, current_run, enter_run
from .sqlcapture import SQLCapture

if t.TYPE_CHECKING:  # imported when a server is started (they load SQLAlchemy)
    from ..databases.earlystart import EarlyServer
    from ..settings import Settings

__all__ = ["RunEnvironment"]


class RunEnvironment:
    """Prepare this process for a run, and undo it afterwards.

    :param root: the project's directory, put first on ``sys.path`` unless it is there.
    :param debug_sql: capture the SQL of each test (``--debug-sql``).
    """

    def __init__(self, root: str, debug_sql: bool = False) -> None:
        self.root = os.path.abspath(root)
        self.debug_sql = debug_sql
        #: The ``--debug-sql`` capture while the environment is set up.
        self.sql_capture: SQLCapture | None = None
        self._sys_path_added: str | None = None
        self._early: EarlyServer | None = None

    def start_server(self, settings: Settings, keepdb: bool, project: str) -> None:
        """Start the run's throwaway server in the background, while the tests load.

        :param settings: the run's settings.
        :param keepdb: run on the project's kept data.
        :param project: keys the kept data.
        """
        # Imported here: they load SQLAlchemy, which the thread does not wait for.
        from ..databases.earlystart import start_early

        self._early = start_early(settings.databases_config(), keepdb, project)

    def open_run(
        self,
        settings: Settings,
        log: t.Callable[[str, int], None],
        *,
        database_url: str | None,
        keepdb: bool,
        interactive: bool,
        parallel: int,
        project: str,
    ) -> Run:
        """Open the run's test databases (through the one door) and enter the run.

        The server :meth:`start_server` started is used; a run inside another
        (in this process) is given the enclosing run's database.

        :param settings: the run's settings.
        :param log: prints the progress messages.
        :param database_url: an existing server (``--database-url``).
        :param keepdb: reuse the test database, and keep it at the end.
        :param interactive: ask before replacing an existing test database.
        :param parallel: how many worker copies to make (none below 2).
        :param project: keys the throwaway server's kept data.
        """
        # Imported here: they load SQLAlchemy, and --help must stay fast.
        from ..cases.testapp import prebuild_schema
        from ..databases.drivers import choose_driver
        from ..databases.lifecycle import open_test_databases

        log(choose_driver(settings.driver).describe(), 2)
        enclosing = current_run()
        early, self._early = self._early, None
        databases = open_test_databases(
            settings.databases_config(),
            log=log,
            given=enclosing.databases.url if enclosing is not None else None,
            database_url=database_url,
            keepdb=keepdb,
            interactive=interactive,
            parallel=parallel,
            project=project,
            early=early,
            prebuild=functools.partial(prebuild_schema, settings=settings),
        )
        run = Run(settings, databases)
        enter_run(run)
        return run

    def install(self) -> None:
        """Prepare the process: ``sys.path``, ``--debug-sql``."""
        entries = {os.path.abspath(p or os.curdir) for p in sys.path}
        if self.root not in entries:
            sys.path.insert(0, self.root)
            self._sys_path_added = self.root
        if self.debug_sql:
            self.sql_capture = SQLCapture()
            self.sql_capture.install()

    def uninstall(self) -> None:
        """Undo :meth:`install`; stop a server started and not taken."""
        early, self._early = self._early, None
        if early is not None:
            early.discard()
        if self.sql_capture is not None:
            self.sql_capture.uninstall()
            self.sql_capture = None
