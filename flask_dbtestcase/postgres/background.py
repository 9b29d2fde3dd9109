"""Work done in a thread while the main thread goes on: starting the server
while the tests load.

The thread is a :class:`~.processes.KeeperThread`: the programs it spawns
get the death signal (``PR_SET_PDEATHSIG`` fires when the spawning *thread*
ends), so it stays alive, idle, until :meth:`Background.release` — after
whatever it started was stopped — or until the process ends.
"""

from __future__ import annotations

import threading
import typing as t

from .processes import KeeperThread

__all__ = ["Background"]

T = t.TypeVar("T")


class Background(t.Generic[T]):
    """Run ``work`` in a keeper thread; :meth:`result` waits for it.

    :param work: what to do; its result, or the exception it raised, is
        handed to :meth:`result`.
    :param name: the thread's name.
    """

    def __init__(self, work: t.Callable[[], T], name: str) -> None:
        self._work = work
        self._done = threading.Event()
        self._release = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = KeeperThread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._work()
        except BaseException as exc:  # handed to result(), in the caller's thread
            self._error = exc
        finally:
            self._done.set()
        self._release.wait()

    def result(self) -> T:
        """Wait for the work; return its result or raise its exception."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return t.cast(T, self._value)

    @property
    def running(self) -> bool:
        """Whether the thread is still alive (working, or waiting for :meth:`release`)."""
        return self._thread.is_alive()

    def release(self) -> None:
        """Let the thread end (what it spawned must be stopped by then)."""
        self._release.set()
