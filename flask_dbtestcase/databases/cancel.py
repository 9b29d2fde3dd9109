"""Ctrl-C and SIGTERM stop a run promptly, even while a test waits on PostgreSQL.

Python runs signal handlers between bytecodes, in the main thread. A main
thread blocked in libpq (a long query, a lock wait on a separate connection)
would only notice Ctrl-C when the query ends: possibly never. Python's
C-level handler, though, writes the signal number to the *wakeup fd* at
once; a small thread reading it cancels the queries running on the run's
test databases (``pg_cancel_backend``), libpq returns, and the handler runs
(the runner turns it into "Interrupted: N tests ran" and cleans up).

Only active queries on the test databases are cancelled: the run's own, on
its own databases (the throwaway server is private to the run).
"""

from __future__ import annotations

import os
import signal
import threading
import typing as t
from types import FrameType

from sqlalchemy.engine import URL

from .drivers import url_driver
from .maintenance import connect_maintenance

__all__ = ["QueryCanceller", "Targets", "cancel_queries", "sigterm_to_keyboard_interrupt"]

#: Returns the URLs of the databases whose queries an interrupt cancels.
Targets = t.Callable[[], t.Sequence[URL]]

_CANCEL = """
SELECT pg_cancel_backend(pid) FROM pg_stat_activity
WHERE pid <> pg_backend_pid() AND state = 'active'
  AND (datname = %(name)s OR datname LIKE %(clones)s)
"""


def cancel_queries(targets: Targets) -> int:
    """Cancel the active queries on the test databases; return how many.

    :param targets: returns the test databases' URLs; the databases whose
        names extend them (``--parallel`` clones, binds) are included.
    """
    cancelled = 0
    for url in targets():
        try:
            name = url.database or ""
            conn = connect_maintenance(url)
            error = url_driver(url).Error
        except Exception:  # the server is gone: nothing is waiting on it
            continue
        try:
            with conn.cursor() as cur:
                clones = name.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "\\_%"
                cur.execute(_CANCEL, {"name": name, "clones": clones})
                cancelled += sum(1 for (ok,) in cur.fetchall() if ok)
        except error:
            pass
        finally:
            conn.close()
    return cancelled


class QueryCanceller:
    """Watch the wakeup fd; on SIGINT or SIGTERM cancel the test queries.

    :param targets: returns the test databases' URLs (see :func:`cancel_queries`).
    """

    signals = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, targets: Targets) -> None:
        self.targets = targets
        self._write_fd = -1
        self._thread: threading.Thread | None = None

    def install(self) -> bool:
        """Start watching; return whether it did.

        Nothing is done off the main thread, or when someone else (an event
        loop) owns the wakeup fd.
        """
        if threading.current_thread() is not threading.main_thread():
            return False
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        try:
            previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        except (ValueError, OSError):
            previous = None
        if previous != -1:
            if previous is not None:
                signal.set_wakeup_fd(previous)
            os.close(read_fd)
            os.close(write_fd)
            return False
        self._write_fd = write_fd
        self._thread = threading.Thread(
            target=self._watch, args=(read_fd,), name="flask-dbtestcase-canceller", daemon=True
        )
        self._thread.start()
        return True

    def _watch(self, read_fd: int) -> None:
        try:
            while True:
                try:
                    data = os.read(read_fd, 64)
                except InterruptedError:  # pragma: no cover
                    continue
                if not data:
                    return
                if any(byte in self.signals for byte in data):
                    try:
                        cancel_queries(self.targets)
                    except Exception:  # never let the watcher die noisily
                        pass
        finally:
            os.close(read_fd)

    def uninstall(self) -> None:
        """Stop watching, and clear the wakeup fd (safe to call twice)."""
        if self._write_fd == -1:
            return
        try:
            if signal.set_wakeup_fd(-1) != self._write_fd:  # pragma: no cover
                pass
        except ValueError:  # pragma: no cover - not the main thread
            pass
        os.close(self._write_fd)  # the watcher reads EOF and ends
        self._write_fd = -1
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


def sigterm_to_keyboard_interrupt(signum: int, frame: FrameType | None) -> t.NoReturn:
    """Stop the run on SIGTERM as on Ctrl-C: the clean-up runs either way.

    :param signum: the signal's number.
    :param frame: the frame it interrupted.
    """
    raise KeyboardInterrupt("SIGTERM")
