"""Threads that outlive their test: their later statements and commits are refused.

A thread of the app shares the test's one connection, so what it sends
lands in whichever test runs at that moment. A worker that a test starts
and never joins would go on writing into the next tests (in production its
rows are committed; here they would appear in, and vanish with, another
test). :class:`ThreadLedger` keeps the connection's *generation*, a counter
bumped when a test begins and when it ends (no query: the per-test path
stays free), and, for each thread other than the tests' own, the
generation in which its current unit of work first used the connection. A
unit of work is the thread's Flask app context: a live server's request, a
job a pool runs in an app context of its own, or a worker's whole life when
it keeps one app context (a thread outside any app context is one unit).
A unit that goes on after its generation ended is *late*: the
:class:`~.savepoints.SavepointStack` gives it no savepoint, refuses its
statements and commits with :func:`late_error` (one paragraph naming the
thread and the test it began in), and lets its rollbacks pass, which undo
nothing. Each late thread is reported once, and fails the test it was
refused in (or the next one, if no test was running).
"""

from __future__ import annotations

import dataclasses
import threading
import weakref

from flask.globals import app_ctx

from ..errors import IsolationError

__all__ = ["ThreadLedger", "late_error"]


@dataclasses.dataclass(eq=False)
class _Seen:
    """A thread's unit of work, and where it first used the connection.

    Held weakly: the ledger keeps no app (or test) alive.
    """

    unit: weakref.ref[object]  # its app context, or the thread itself
    generation: int
    test: str  # the test running then (or the last one, between tests)
    reported: bool = False


def _unit(thread: threading.Thread) -> object:
    """The calling thread's unit of work: its app context, else the thread itself."""
    try:
        return app_ctx._get_current_object()  # type: ignore[attr-defined]
    except RuntimeError:  # outside an app context
        return thread


def _name(test: object) -> str:
    if test is None:
        return "the set-up before the first test, or a test since gone,"
    return str(getattr(test, "id", lambda: repr(test))())


class ThreadLedger:
    """The connection's generation, and the units of work of the threads other than the tests'."""

    def __init__(self) -> None:
        #: Bumped when a test begins and when it ends.
        self.generation = 0
        #: The thread that runs the tests (exempt: its work is the test's own).
        self.main: threading.Thread | None = None
        self._test: weakref.ref[object] | None = None  # the test running, or the last one
        self._seen: dict[threading.Thread, _Seen] = {}
        self._reports: list[str] = []  # late threads refused, to fail a test

    def begin_test(self, test: object) -> None:
        """Start a new generation: the test's.

        :param test: the test.
        """
        self.generation += 1
        self.main = threading.current_thread()
        self._test = weakref.ref(test)

    def end_test(self) -> list[str]:
        """End the test's generation; return the late threads refused since the last call."""
        self.generation += 1
        seen = self._seen
        if seen:
            for thread in [thread for thread in seen if not thread.is_alive()]:
                del seen[thread]
        return self.take_reports()

    def take_reports(self) -> list[str]:
        """Return the late threads refused since the last call, and forget them."""
        reports, self._reports = self._reports, []
        return reports

    def late(self) -> bool:
        """Tell whether the calling thread's unit of work began in an earlier generation.

        Its first use of the connection in a unit is noted here. Call it only
        for threads other than :attr:`main`.
        """
        me = threading.current_thread()
        unit = _unit(me)
        seen = self._seen.get(me)
        if seen is None or seen.unit() is not unit:
            test = self._test() if self._test is not None else None
            self._seen[me] = _Seen(weakref.ref(unit), self.generation, _name(test))
            return False
        return seen.generation != self.generation

    def refuse(self, what: str) -> IsolationError:
        """Return the refusal of a late thread's ``what``; note it, once per thread, to be reported.

        :param what: what it tried ("send a statement", "commit its transaction").
        """
        me = threading.current_thread()
        seen = self._seen[me]
        error = late_error(me.name, seen.test, what)
        if not seen.reported:
            seen.reported = True
            self._reports.append(str(error))
        return error


def late_error(thread: str, test: str, what: str) -> IsolationError:
    """Return the refusal of a thread that uses the test database after its test ended.

    :param thread: the thread's name.
    :param test: the test it began its work in.
    :param what: what it tried to do.
    """
    return IsolationError(
        f"A thread started by {test} ({thread!r}) is still using the test database "
        f"after its test ended: it tried to {what}, which flask-dbtestcase refused, "
        "since on the one connection that keeps tests isolated its work would land "
        "in another test (in production it would be committed). Join your threads "
        "before the test returns (or stop them in tearDown); a thread that serves "
        "every test, such as a job consumer, should push an app context of its own "
        "for each job."
    )
