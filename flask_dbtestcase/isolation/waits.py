"""Threads waiting for their turn on the shared connection, each wait bounded.

The rules of :mod:`.frames` make a thread wait, rather than be refused, when
another thread's transaction is in its way. :class:`Turns` applies them for
the connection's :class:`~.savepoints.SavepointStack` (before a thread
begins a transaction, sends a statement or ends its transaction, and at the
end of the test) and waits on a condition of the stack's own lock: the
stack notifies it whenever a frame ends, and a waiting thread looks again
every few milliseconds, since a thread it waits for may have become parked
(:func:`parked`) or gone meanwhile. A wait that passes :attr:`Turns.timeout`
is a deadlock, or a thread far slower than a test should be: it is refused
with :func:`wait_error`, one paragraph naming both threads (a live server
names its threads after their requests).
"""

from __future__ import annotations

import sys
import threading
import time
import typing as t

from ..errors import IsolationError
from .frames import Frame, Frames, begin_blockers, end_blockers, statement_blockers
from .latethreads import ThreadLedger

__all__ = [
    "WAIT_TIMEOUT",
    "Turns",
    "parked",
    "refused_message",
    "stuck_error",
    "wait_error",
]

#: How long a thread waits for another's transaction before it is refused (seconds).
WAIT_TIMEOUT = 10.0
#: Where a thread blocked in :mod:`threading` is: ``Condition.wait`` (events,
#: semaphores, barriers, queues and futures wait there too) or ``Thread.join``.
_WAITING = frozenset({"wait", "join", "_wait_for_tstate_lock"})
#: How often a waiting thread looks again at the threads it waits for (seconds).
_POLL = 0.005


def parked(thread: threading.Thread) -> bool:
    """Tell whether ``thread`` waits in :mod:`threading` (a join, event, lock, queue or future).

    A thread parked so while its transaction is open waits for another
    thread, most likely one it started (a worker it joins, a thread pool
    whose results it waits for): that thread may begin a transaction on top
    of the parked one's, or the two would wait for each other. CPython's
    :func:`sys._current_frames` tells where a thread is.

    :param thread: a thread that holds an open transaction.
    """
    frame = sys._current_frames().get(thread.ident or -1)
    return (
        frame is not None
        and frame.f_code.co_name in _WAITING
        and frame.f_globals.get("__name__") == "threading"
    )


class Turns:
    """The threads' turns on one shared connection: who waits for whom, and what was refused.

    The savepoint stack calls its ``before_*`` methods with its lock held,
    before a thread begins a transaction, sends a statement or ends one.

    :param lock: the savepoint stack's lock, held around every wait.
    :param frames: the stack's frames.
    """

    def __init__(self, lock: threading.RLock, frames: Frames) -> None:
        self._condition = threading.Condition(lock)
        self._frames = frames
        self._waiting: dict[threading.Thread, int] = {}
        self._home: threading.Thread | None = None  # the test's thread
        self._refused: list[str] = []  # what was refused during the test
        #: The threads that outlive their test (:mod:`.latethreads`).
        self.ledger = ThreadLedger()
        #: How long one wait may last before it is refused (seconds).
        self.timeout = WAIT_TIMEOUT

    # -- the test's bounds ----------------------------------------------------------

    def begin_test(self, test: object, timeout: float | None) -> None:
        """Note the test and its thread, forget earlier refusals, set the bound.

        :param test: the test.
        :param timeout: the test's ``thread_wait_timeout`` (None: :data:`WAIT_TIMEOUT`).
        """
        self.ledger.begin_test(test)
        self._home = threading.current_thread()
        self._refused = []
        self.timeout = WAIT_TIMEOUT if timeout is None else float(timeout)

    def end_test(self) -> list[str]:
        """Forget the test's thread; return what was refused during the test (late threads too)."""
        self._home = None
        refused, self._refused = [*self._refused, *self.ledger.end_test()], []
        self.notify()
        return refused

    def take_refusals(self) -> list[str]:
        """Return what was refused since the test began, and forget it (it fails no test then)."""
        with self._condition:
            refused, self._refused = [*self._refused, *self.ledger.take_reports()], []
            return refused

    def late(self) -> bool:
        """Tell whether the calling thread outlived the test its work began in."""
        return threading.current_thread() is not self.ledger.main and self.ledger.late()

    def refuse(self, error: IsolationError) -> IsolationError:
        """Note a refusal (it fails the test at its end); return it, to be raised.

        :param error: the refusal.
        """
        self._refused.append(str(error))
        return error

    def home_thread(self) -> threading.Thread | None:
        """The test's thread (outside a test: the thread of the outermost open frame)."""
        stack = self._frames.stack
        return self._home or (stack[0].thread if stack else None)

    # -- before each step ----------------------------------------------------------

    def before_begin(self) -> None:
        """Wait while a new transaction of this thread would begin inside another's (bounded)."""
        me = threading.current_thread()
        home = self.home_thread()
        if any(f.thread is not me and f.thread is not home for f in self._frames.stack):
            running = self.running
            self._await(
                "begin a transaction",
                lambda: begin_blockers(self.pruned(), me, self.home_thread(), running),
            )

    def before_statement(self) -> None:
        """Wait while this thread's transaction lies below another thread's (bounded)."""
        me = threading.current_thread()
        self._await("send a statement", lambda: statement_blockers(self.pruned(), me))

    def before_end(self, owner: object, what: str) -> IsolationError | None:
        """Wait while other threads' frames are open above ``owner``'s; return the refusal, if any.

        After the bound the end goes ahead all the same (the caller raises the
        refusal afterwards), so that the frames do not stay open for ever.

        :param owner: the SQLAlchemy connection whose transaction ends.
        :param what: "commit" or "roll back".
        """
        me = threading.current_thread()
        frames = self._frames

        def blockers() -> list[Frame]:
            stack = self.pruned()
            index = frames.find(owner)
            return [] if index is None else end_blockers(stack, index, me)

        left = self.wait(blockers)
        return (
            self.refuse(wait_error(f"{what} its transaction", left, self.timeout)) if left else None
        )

    def wait_for_others(self) -> IsolationError | None:
        """Wait (bounded) for the transactions other threads have open; name those still open."""
        me = threading.current_thread()
        if all(frame.thread is me for frame in self._frames.stack):
            return None
        left = self.wait(lambda: [f for f in self.pruned() if f.thread is not me])
        return stuck_error(left, self.timeout) if left else None

    def _await(self, what: str, blockers: t.Callable[[], list[Frame]]) -> None:
        left = self.wait(blockers)
        if left:
            raise self.refuse(wait_error(what, left, self.timeout))

    # -- waiting ---------------------------------------------------------------------

    def pruned(self) -> list[Frame]:
        """The open frames, less those on top whose thread is gone (rolled back, as by a pool)."""
        frames = self._frames
        stack = frames.stack
        home = self.home_thread()
        if stack and stack[-1].thread is not home and not stack[-1].thread.is_alive():
            while stack and stack[-1].thread is not home and not stack[-1].thread.is_alive():
                frames.pop_top(release=False)
            frames.release_committed()
        return stack

    def running(self, thread: threading.Thread) -> bool:
        """Tell whether ``thread`` is alive and not parked (a thread waiting here is running).

        :param thread: a thread that holds an open transaction.
        """
        if not thread.is_alive():
            return False
        return thread in self._waiting or not parked(thread)

    def wait(self, blockers: t.Callable[[], list[Frame]]) -> list[Frame]:
        """Wait until ``blockers()`` is empty; return what is still in the way after the bound.

        Called with the stack's lock held (it is released while waiting).

        :param blockers: the frames the calling thread waits for, asked again after each change.
        """
        found = blockers()
        if not found:
            return found
        me = threading.current_thread()
        deadline = time.monotonic() + self.timeout
        waiting = self._waiting
        waiting[me] = waiting.get(me, 0) + 1
        try:
            while found:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return found
                self._condition.wait(min(remaining, _POLL))
                found = blockers()
            return found
        finally:
            waiting[me] -= 1
            if not waiting[me]:
                del waiting[me]

    def notify(self) -> None:
        """Wake the waiting threads (a frame ended). Called with the stack's lock held."""
        if self._waiting:
            self._condition.notify_all()


def wait_error(what: str, blockers: t.Sequence[Frame], timeout: float) -> IsolationError:
    """Return the refusal of a wait that passed its bound: one paragraph naming both threads.

    :param what: what the waiting thread was about to do ("send a statement", ...).
    :param blockers: the frames it waited for.
    :param timeout: the bound, in seconds.
    """
    me = threading.current_thread().name
    names = list(dict.fromkeys(frame.thread.name for frame in blockers))
    others = ", ".join(repr(name) for name in names)
    other = repr(names[0])
    return IsolationError(
        f"Thread {me!r} waited {timeout:g} s to {what} for the open transaction of "
        f"thread {others} to end, on the one connection that keeps the test isolated, "
        "where one thread's transaction runs at a time, or nested whole inside "
        f"another's; flask-dbtestcase refused it. Most likely {other} waits for "
        f"{me!r} in turn (a deadlock: it joins it, or waits for its result or its "
        f"request, inside a transaction {me!r} must not enter). Let {other} commit or "
        f"roll back before it waits for {me!r}; if it is only slow, raise the bound "
        "(thread_wait_timeout on the test case class); or make the class a "
        "FlaskDBTransactionTestCase (FlaskDBTransactionLiveServerTestCase, the "
        "transactional_db fixture), where each thread has a connection of its own."
    )


def stuck_error(blockers: t.Sequence[Frame], timeout: float) -> IsolationError:
    """Return the failure of a test that ended while other threads' transactions stayed open.

    :param blockers: their frames, still open after the bound.
    :param timeout: the bound, in seconds.
    """
    names = ", ".join(repr(name) for name in dict.fromkeys(f.thread.name for f in blockers))
    return IsolationError(
        f"The test ended while thread {names} still had a transaction open on the "
        f"test connection, and it did not end within {timeout:g} s; flask-dbtestcase "
        "rolled it back with the test, so what that thread does next would land in "
        "the next test. Join the threads the test starts, and wait for the requests "
        "it makes (a browser's included), before the test returns."
    )


def refused_message(refused: t.Sequence[str]) -> str:
    """Return the failure of a test during which something was refused (even if the app caught it).

    :param refused: the refusals' messages, first first.
    """
    more = f" ({len(refused) - 1} more after it)" if len(refused) > 1 else ""
    return (
        "flask-dbtestcase refused something during this test, which fails it even "
        f"if the app caught the error (as worker code that logs errors does){more}: "
        f"{refused[0]}"
    )
