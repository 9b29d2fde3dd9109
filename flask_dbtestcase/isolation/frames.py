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

Threads. Each frame records the thread that began it. Two threads' frames
on the one connection are correct as long as they nest (one thread's
transaction runs whole inside the other's, as a worker started by a route
and joined before the response) or do not overlap at all. What one
connection cannot give is refused with an IsolationError naming both
threads, before anything is lost: a statement of a thread whose own
transaction is open below another thread's (:func:`statement_refusal`: it
would run inside the other transaction), and a rollback that would also
undo another thread's open transaction or its commit
(:func:`rollback_refusal`; except a rollback in the test's own thread,
which undoes what was committed inside its transaction, as it does a
request's commit). The stack decides under its lock when to ask; these
functions only read the frames.
"""

from __future__ import annotations

import dataclasses
import threading
import typing as t

from ..errors import IsolationError

__all__ = [
    "STATEMENT",
    "TEST_SAVEPOINT",
    "Frame",
    "Frames",
    "rollback_refusal",
    "statement_refusal",
]

#: The savepoint that brackets one test. ``ROLLBACK TO`` keeps it
#: established, so the next test of the class reuses it for free.
TEST_SAVEPOINT = "fdt_test"

#: The owner of the savepoint of one AUTOCOMMIT statement.
STATEMENT = object()


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
    #: Other threads whose commits were released into it (its rollback would undo them).
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
            below = self.stack[-1]
            if frame.thread is not below.thread and frame.thread not in below.foreign_commits:
                below.foreign_commits += (frame.thread,)
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
        while stack and stack[-1].committed:  # they waited for the one that ended
            self.pop_top(release=True)


def rollback_refusal(frames: t.Sequence[Frame], index: int) -> IsolationError | None:
    """Return the error for a rollback of ``frames[index]`` that would undo another thread's work.

    :param frames: the stack's frames, outermost first.
    :param index: the frame to roll back.
    """
    me = frames[index].thread
    for frame in frames[index + 1 :]:
        if frame.thread is not me:
            return _threads_error(me, frame.thread, "rolled back", "open inside it")
    if frames[0].thread is me:  # the test's thread: undone with it, as a request's commit
        return None
    for frame in frames[index:]:
        for other in frame.foreign_commits:
            if other is not me:
                return _threads_error(me, other, "rolled back", "committed inside it")
    return None


def statement_refusal(frames: t.Sequence[Frame]) -> IsolationError | None:
    """Return the error for a statement of a thread whose transaction is open below another's.

    Asked before a statement is sent, when the innermost frame is another
    thread's: the statement would run inside that transaction, whose
    rollback would undo it.

    :param frames: the stack's frames, outermost first (not empty).
    """
    me = threading.current_thread()
    top = frames[-1].thread
    for frame in frames:
        if frame.thread is me:
            return _threads_error(me, top, "sent a statement", "open above its own")
    return None


def _threads_error(
    me: threading.Thread, other: threading.Thread, did: str, what: str
) -> IsolationError:
    return IsolationError(
        f"Thread {me.name!r} {did} while thread {other.name!r} had a transaction "
        f"{what}, on the one connection that keeps the test isolated. There the "
        "two transactions are savepoints nested in each other, so this would undo "
        f"(or mix into) the work of {other.name!r}, which production keeps; "
        "flask-dbtestcase refused it (a refused rollback keeps what was done, "
        "until the test ends). Let one thread finish its transaction before the "
        "other opens one (join it, or synchronise them), or make the class a "
        "FlaskDBTransactionTestCase, where each thread has a connection of its "
        "own and really commits."
    )
