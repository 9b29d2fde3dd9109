"""One frame per logical transaction on the shared connection, and the threads' rules.

Every logical transaction the application opens on a pinned engine becomes a
:class:`Frame`: a SAVEPOINT of its own. :class:`Frames` is the stack of the
open ones and the plumbing they queue: pushing or popping a frame only
queues its SAVEPOINT, RELEASE or ROLLBACK TO, which goes out with the next
statement. On one connection savepoints nest strictly: a frame that ends
below open ones either waits for them (a commit) or takes them with it (a
rollback). :class:`Frames` is plain data with no lock: the connection's
:class:`~.savepoints.SavepointStack` owns it, holds its lock around every
change, and reads and empties its two lists itself.

Threads. Each frame records the thread that began it. The threads sharing
the connection are serialised by the nesting of their transactions, as
Rails' ``lock_threads`` gives the thread inside a transaction the
connection until it ends:

- a thread may begin a transaction on top of the test's thread's open ones
  (a live server's request inside the test's transaction), and on top of
  another thread's that is *parked* (waiting on a lock, an event, a join or
  a future: a worker started by a route and joined, a thread pool a request
  reads through); it waits while another thread's transaction is open and
  that thread is running, as it would wait for that thread's locks in
  production (:func:`begin_blockers`);
- a thread whose transaction lies below another thread's open one waits
  until that one has ended before it sends a statement
  (:func:`statement_blockers`) or ends its own transaction
  (:func:`end_blockers`).

The result is a serial schedule: every commit is kept, and every rollback
undoes its own work, with one exception that one connection cannot avoid: a
thread that wrote, then was parked while another thread committed inside its
transaction, then rolls back (:func:`rollback_outcome`). A thread whose own
work was read-only releases its savepoint instead, which keeps the other
thread's commit and undoes nothing of its own. The stack decides under its
lock when to ask and does the waiting (:mod:`.waits`); these functions only
read the frames.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import typing as t

from ..errors import IsolationError

__all__ = [
    "RELEASE_INSTEAD",
    "STATEMENT",
    "TEST_SAVEPOINT",
    "Frame",
    "Frames",
    "begin_blockers",
    "end_blockers",
    "may_write",
    "rollback_outcome",
    "statement_blockers",
]

#: The savepoint that brackets one test. ``ROLLBACK TO`` keeps it
#: established, so the next test of the class reuses it for free.
TEST_SAVEPOINT = "fdt_test"

#: The owner of the savepoint of one AUTOCOMMIT statement.
STATEMENT = object()

#: :func:`rollback_outcome`: release the savepoint instead of rolling it back.
RELEASE_INSTEAD = "release"


@dataclasses.dataclass(eq=False)
class Frame:
    """One logical transaction opened on the shared connection."""

    owner: object  # the SQLAlchemy Connection, the test itself, or STATEMENT
    name: str
    sent: bool = False  # has its SAVEPOINT reached the server?
    committed: bool = False  # committed while frames above it were open
    autocommit: bool = False  # each statement in it gets a savepoint of its own
    #: The thread that began it.
    thread: threading.Thread = dataclasses.field(default_factory=threading.current_thread)
    #: A statement that may write ran in it (or in a frame of its thread released into it).
    wrote: bool = False
    #: Other threads whose commits, with writes, were released into it
    #: (its rollback would undo them).
    foreign_commits: tuple[threading.Thread, ...] = ()


class Frames:
    """The open frames of one connection, and the plumbing they queued."""

    def __init__(self) -> None:
        #: The open frames, outermost first.
        self.stack: list[Frame] = []
        #: The queued plumbing, to go out with the next statement.
        self.plumbing: list[str] = []
        self._counter = 0

    def push(self, owner: object, name: str | None = None) -> Frame:
        """Open a frame and queue its SAVEPOINT; return it.

        :param owner: what opened it (a SQLAlchemy connection, a test, STATEMENT).
        :param name: its savepoint's name (default: a new one).
        """
        if name is None:
            self._counter += 1
            name = f"fdt_{self._counter}"
        frame = Frame(owner, name)
        self.stack.append(frame)
        self.plumbing.append(f"SAVEPOINT {frame.name}")
        return frame

    def find(self, owner: object) -> int | None:
        """Return the index of ``owner``'s innermost frame, or None.

        :param owner: a SQLAlchemy connection, or a test.
        """
        stack = self.stack
        for index in range(len(stack) - 1, -1, -1):
            if stack[index].owner is owner:
                return index
        return None

    def pop_top(self, release: bool) -> None:
        """Close the innermost frame: queue its RELEASE, or its ROLLBACK TO and RELEASE.

        :param release: it committed (else it rolled back).
        """
        frame = self.stack.pop()
        if release and self.stack:
            _merge(frame, self.stack[-1])
        if not frame.sent:
            self.plumbing.remove(f"SAVEPOINT {frame.name}")
        elif release:
            self.plumbing.append(f"RELEASE SAVEPOINT {frame.name}")
        else:
            self.plumbing.append(f"ROLLBACK TO SAVEPOINT {frame.name}")
            self.plumbing.append(f"RELEASE SAVEPOINT {frame.name}")

    def end(self, index: int, commit: bool) -> None:
        """Close frame ``index``, as savepoints on one connection allow.

        :param index: the frame.
        :param commit: it committed (else it rolled back).
        """
        stack = self.stack
        if index == len(stack) - 1:
            self.pop_top(release=commit)
        elif commit:
            # RELEASE would also destroy the savepoints opened above it.
            stack[index].committed = True
            return
        else:
            # ROLLBACK TO undoes what the frames above it did as well: on
            # one connection savepoints nest strictly.
            for frame in stack[index + 1 :]:
                if not frame.sent:
                    self.plumbing.remove(f"SAVEPOINT {frame.name}")
            del stack[index + 1 :]
            self.pop_top(release=False)
        self.release_committed()

    def release_from(self, index: int) -> None:
        """Release frame ``index`` and those above it (a read-only rollback, or a refused one).

        :param index: the frame.
        """
        stack = self.stack
        while len(stack) > index:
            self.pop_top(release=True)
        self.release_committed()

    def release_committed(self) -> None:
        """Release the frames on top that committed while frames above them were open."""
        stack = self.stack
        while stack and stack[-1].committed:  # they waited for the one that ended
            self.pop_top(release=True)


def _merge(frame: Frame, below: Frame) -> None:
    """Note what a released frame leaves in the frame below it."""
    if frame.thread is below.thread:
        below.wrote = below.wrote or frame.wrote
        others = frame.foreign_commits
    elif frame.wrote or frame.foreign_commits:
        others = (frame.thread, *frame.foreign_commits)
    else:
        return
    for other in others:
        if other is not below.thread and other not in below.foreign_commits:
            below.foreign_commits += (other,)


# -- the threads' rules ---------------------------------------------------------------

#: Statements that read only (what a rollback of them undoes is nothing).
_READS = re.compile(
    r"\s*(?:select|show|values|table|fetch|move|close|savepoint|release|rollback\s+to"
    r"|explain(?!\s+(?:\(.*)?analy[sz]e))\b",
    re.IGNORECASE,
)


def may_write(query: t.Any) -> bool:
    """Tell whether a statement may write (anything but a plain read, or an unknown one).

    :param query: the statement's text (``str`` or ``bytes``), or None if it is not known.
    """
    if isinstance(query, bytes):
        query = query[:64].decode("ascii", "replace")
    return not (isinstance(query, str) and _READS.match(query))


def _outermost(stack: t.Sequence[Frame], me: threading.Thread) -> int:
    """The index of ``me``'s outermost frame; -1 if it has none."""
    for index, frame in enumerate(stack):
        if frame.thread is me:
            return index
    return -1


def begin_blockers(
    stack: t.Sequence[Frame],
    me: threading.Thread,
    home: threading.Thread | None,
    running: t.Callable[[threading.Thread], bool],
) -> list[Frame]:
    """Return the frames a new transaction of ``me`` must wait for.

    A transaction begins on top of the open ones. It must not begin inside
    the open transaction of another thread that is still running (it would
    be undone by that thread's rollback): it waits for it to end. The test's
    own thread (``home``) and threads that are parked do not hold it up;
    nor do frames below ``me``'s own, whose threads wait for ``me`` anyway.

    :param stack: the open frames, outermost first.
    :param me: the thread that begins a transaction.
    :param home: the test's thread.
    :param running: tells whether a thread is running (not parked, not gone).
    """
    return [
        frame
        for frame in stack[_outermost(stack, me) + 1 :]
        if frame.thread is not me and frame.thread is not home and running(frame.thread)
    ]


def statement_blockers(stack: t.Sequence[Frame], me: threading.Thread) -> list[Frame]:
    """Return the frames above ``me``'s innermost one, if ``me`` has any (its statement waits).

    :param stack: the open frames, outermost first.
    :param me: the thread that sends a statement.
    """
    if not stack or stack[-1].thread is me:
        return []
    for index in range(len(stack) - 1, -1, -1):
        if stack[index].thread is me:
            return list(stack[index + 1 :])
    return []  # no transaction of its own: a statement outside any (not held up)


def end_blockers(stack: t.Sequence[Frame], index: int, me: threading.Thread) -> list[Frame]:
    """Return the frames of other threads above frame ``index`` (its end waits for them).

    :param stack: the open frames, outermost first.
    :param index: the frame that ends.
    :param me: its thread.
    """
    return [frame for frame in stack[index + 1 :] if frame.thread is not me]


def rollback_outcome(
    stack: t.Sequence[Frame], index: int, home: threading.Thread | None
) -> str | IsolationError | None:
    """Tell how frame ``index`` may be rolled back, once the frames above it are its own.

    Returns None for a plain rollback; :data:`RELEASE_INSTEAD` when other
    threads committed inside it and it wrote nothing itself (a release keeps
    their work and undoes nothing of its own); the error to raise when it
    wrote and another thread committed inside it, which one connection
    cannot undo apart (except in the test's own thread, whose rollback undoes
    a request's commit made inside its transaction, as the docs say).

    :param stack: the open frames, outermost first.
    :param index: the frame to roll back.
    :param home: the test's thread.
    """
    frames = stack[index:]
    others = {other for frame in frames for other in frame.foreign_commits}
    me = stack[index].thread
    others.discard(me)
    if not others:
        return None
    if not any(frame.wrote for frame in frames):
        return RELEASE_INSTEAD
    if me is home:
        return None
    other = sorted(others, key=lambda thread: thread.name)[0]
    return IsolationError(
        f"Thread {me.name!r} rolled back a transaction inside which thread "
        f"{other.name!r} had committed, on the one connection that keeps the test "
        "isolated: there the two transactions are savepoints nested in each other, "
        f"so the rollback would also undo the work of {other.name!r}, which "
        "production keeps. flask-dbtestcase refused it (what both did stays until "
        "the test ends, and the test fails). Let the other thread commit before "
        f"{me.name!r} writes, or after it ends its transaction, or make the class a "
        "FlaskDBTransactionTestCase, where each thread has a connection of its own."
    )
