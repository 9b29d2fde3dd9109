"""The process around a run: ``sys.path``, ``--debug-sql``, SIGTERM, the
settings and the query canceller, set up before the tests and given back
after them (:class:`RunEnvironment`).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import typing as t
from types import FrameType

from ..settings import Settings
from ..state import STATE
from .databases import run_cancel_targets
from .sqlcapture import SQLCapture

if t.TYPE_CHECKING:  # imported when the environment is set up (it loads psycopg2)
    from ..databases.cancel import QueryCanceller

__all__ = ["RunEnvironment"]

_SignalHandler = t.Union[t.Callable[[int, t.Optional[FrameType]], t.Any], int, None]


class RunEnvironment:
    """Prepare this process for a run, and undo it afterwards.

    :param root: the project's directory, put first on ``sys.path`` unless it is there.
    :param debug_sql: capture the SQL of each test (``--debug-sql``).
    :param app_factory: the app ``flask test`` found, handed to the settings.
    """

    def __init__(self, root: str, debug_sql: bool = False, app_factory: str | None = None) -> None:
        self.root = os.path.abspath(root)
        self.debug_sql = debug_sql
        self.app_factory = app_factory
        #: The ``--debug-sql`` capture while the environment is set up.
        self.sql_capture: SQLCapture | None = None
        self._previous_settings: Settings | None = None
        self._previous_sigterm: _SignalHandler = None
        self._canceller: QueryCanceller | None = None
        self._sys_path_added: str | None = None

    def install(self) -> None:
        """Prepare the process: ``sys.path``, ``--debug-sql``, SIGTERM, the settings."""
        entries = {os.path.abspath(p or os.curdir) for p in sys.path}
        if self.root not in entries:
            sys.path.insert(0, self.root)
            self._sys_path_added = self.root
        if self.debug_sql:
            self.sql_capture = SQLCapture()
            self.sql_capture.install()
        # Imported here: it loads psycopg2, and --help must stay fast.
        from ..databases.cancel import QueryCanceller, sigterm_to_keyboard_interrupt

        if hasattr(signal, "SIGTERM"):
            try:
                self._previous_sigterm = signal.signal(
                    signal.SIGTERM, sigterm_to_keyboard_interrupt
                )
            except ValueError:  # not the main thread
                self._previous_sigterm = None
        self._previous_settings = STATE.settings
        if self.app_factory:
            STATE.settings = dataclasses.replace(STATE.current_settings(), cli_app=self.app_factory)
        # Ctrl-C/SIGTERM must also stop a test blocked in a query or lock wait.
        self._canceller = QueryCanceller(run_cancel_targets)
        self._canceller.install()

    def uninstall(self) -> None:
        """Undo :meth:`install`."""
        if self._canceller is not None:
            self._canceller.uninstall()
            self._canceller = None
        if self._previous_sigterm is not None:
            try:
                signal.signal(signal.SIGTERM, self._previous_sigterm)
            except ValueError:  # pragma: no cover
                pass
            self._previous_sigterm = None
        if self.sql_capture is not None:
            self.sql_capture.uninstall()
            self.sql_capture = None
        STATE.settings = self._previous_settings
