"""What a run hands over while its test databases are open, and gives back at the end.

The test database goes to the processes the tests start, in
:data:`~flask_dbtestcase.variables.DATABASE_URL_ENV`; SIGTERM stops the run
as Ctrl-C does (a ``KeyboardInterrupt``, so the clean-up runs); and either
cancels the test queries a test may be blocked in (:mod:`.cancel`).
"""

from __future__ import annotations

import os
import signal
import threading
import typing as t
from types import FrameType

from sqlalchemy.engine import URL

from ..variables import DATABASE_URL_ENV
from .cancel import QueryCanceller, Targets, sigterm_to_keyboard_interrupt

__all__ = ["Handover"]

_SignalHandler = t.Union[t.Callable[[int, t.Optional[FrameType]], t.Any], int, None]


class Handover:
    """The hand-over of one run's test database, and the signal handling around it.

    :param targets: the databases whose queries an interrupt cancels.
    """

    def __init__(self, targets: Targets) -> None:
        self._targets = targets
        self._previous_export: str | None = None
        self._exported = False
        self._previous_sigterm: _SignalHandler = None
        self._canceller: QueryCanceller | None = None
        self._signals = False

    def install(self, url: URL, signals: bool = True) -> None:
        """Hand ``url`` to child processes; with ``signals``, install the signal handling.

        The signal handling is installed from the main thread only, SIGTERM's
        only where nobody else handles it.

        :param url: the test database, with its password.
        :param signals: install the signal handling too.
        """
        if not self._exported:
            self._previous_export = os.environ.get(DATABASE_URL_ENV)
            self._exported = True
        # The only place the package writes the environment: the documented hand-over.
        os.environ[DATABASE_URL_ENV] = url.render_as_string(hide_password=False)
        if self._signals or not signals:
            return
        if threading.current_thread() is not threading.main_thread():
            return
        self._signals = True
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            self._previous_sigterm = signal.signal(signal.SIGTERM, sigterm_to_keyboard_interrupt)
        canceller = QueryCanceller(self._targets)
        if canceller.install():
            self._canceller = canceller

    def uninstall(self) -> None:
        """Give back what :meth:`install` changed (safe to call twice)."""
        if self._exported:
            if self._previous_export is None:
                os.environ.pop(DATABASE_URL_ENV, None)
            else:
                os.environ[DATABASE_URL_ENV] = self._previous_export
            self._exported = False
        if self._canceller is not None:
            self._canceller.uninstall()
            self._canceller = None
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None
        self._signals = False
