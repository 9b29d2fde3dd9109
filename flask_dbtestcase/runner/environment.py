"""The process around a run: ``sys.path`` and ``--debug-sql``, set up before
the tests and given back after them (:class:`RunEnvironment`).

The signal handling and the hand-over of the test database belong to the
databases (:mod:`flask_dbtestcase.databases.handover`).
"""

from __future__ import annotations

import os
import sys

from .sqlcapture import SQLCapture

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
        """Undo :meth:`install`."""
        if self.sql_capture is not None:
            self.sql_capture.uninstall()
            self.sql_capture = None
