"""The frames of the shared connection: one SAVEPOINT per logical transaction.

Every logical transaction the application opens on a pinned engine becomes a
:class:`Frame` on the connection's stack, driven by the engine's ``begin``,
``commit`` and ``rollback`` events (:meth:`FrameStack.begin`,
:meth:`FrameStack.end`). Pushing or popping a frame only queues its SAVEPOINT,
RELEASE or ROLLBACK TO in the *plumbing*, which goes out with the next
statement (:mod:`.outcomes`). On one connection savepoints nest strictly: a
frame that ends below open ones either waits for them (a commit) or takes
them with it (a rollback).

Threads. Each frame records the thread that began it. Two threads' frames
on the one connection are correct as long as they nest (one thread's
transaction runs whole inside the other's, as a worker started by a route
and joined before the response) or do not overlap at all. What one
connection cannot give is refused with an IsolationError naming both
threads, before anything is lost: a statement of a thread whose own
transaction is open below another thread's (it would run inside the other
transaction), and a rollback that would also undo another thread's open
transaction or its commit (except a rollback in the test's own thread,
which undoes what was committed inside its transaction, as it does a
request's commit). A refused rollback keeps the frame's work (as a
commit would), so the other thread's transaction goes on intact.
"""

from __future__ import annotations

import dataclasses
import enum
import threading

from ..errors import IsolationError

__all__ = ["STATEMENT", "TEST_SAVEPOINT", "Escape", "Frame", "FrameStack", "TransactionStatus"]

#: The savepoint that brackets one test. ``ROLLBACK TO`` keeps it
#: established, so the next test of the class reuses it for free.
TEST_SAVEPOINT = "fdt_test"


class TransactionStatus(enum.IntEnum):
    """libpq's transaction status (``PQtransactionStatus``), as both drivers report it."""

    IDLE = 0
    ACTIVE = 1
    INTRANS = 2
    INERROR = 3
    UNKNOWN = 4


@dataclasses.dataclass(eq=False)
class Frame:
    """One logical transaction opened on the shared connection."""

    owner: object  # the SQLAlchemy Connection, or the test itself
    name: str
    sent: bool = False  # has its SAVEPOINT reached the server?
    committed: bool = False  # committed while frames above it were open
    autocommit: bool = False  # each statement in it gets a savepoint of its own
    #: The thread that began it.
    thread: threading.Thread = dataclasses.field(default_factory=threading.current_thread)
    #: Other threads whose commits were released into it (its rollback would undo them).
    foreign_commits: tuple[threading.Thread, ...] = ()


#: The owner of the savepoint of one AUTOCOMMIT statement.
STATEMENT = object()


@dataclasses.dataclass
class Escape:
    """A test that got past the savepoints: what the test case must recover from.

    :param message: the IsolationError's message.
    :param reported: the test already got it (raised by a statement).
    """

    message: str
    reported: bool = False


class FrameStack:
    """The stack of frames and the plumbing it queues (a base of the pinned connection).

    The state is set by :meth:`.PinnedConnection.init_savepoints`.
    """

    _frames: list[Frame]
    _plumbing: list[str]
    _counter: int
    _lock: threading.RLock

    def _new_name(self) -> str:
        self._counter += 1
        return f"fdt_{self._counter}"

    def _push(self, owner: object, name: str | None = None) -> Frame:
        frame = Frame(owner, name or self._new_name())
        self._frames.append(frame)
        self._plumbing.append(f"SAVEPOINT {frame.name}")
        return frame

    def find(self, owner: object) -> int | None:
        """Return the index of ``owner``'s innermost frame, or None.

        :param owner: a SQLAlchemy connection, or a test.
        """
        for index in range(len(self._frames) - 1, -1, -1):
            if self._frames[index].owner is owner:
                return index
        return None

    def _pop_top(self, release: bool) -> None:
        frame = self._frames.pop()
        if release and self._frames:
            below = self._frames[-1]
            if frame.thread is not below.thread and frame.thread not in below.foreign_commits:
                below.foreign_commits += (frame.thread,)
        if not frame.sent:
            self._plumbing.remove(f"SAVEPOINT {frame.name}")
        elif release:
            self._plumbing.append(f"RELEASE SAVEPOINT {frame.name}")
        else:
            self._plumbing.append(f"ROLLBACK TO SAVEPOINT {frame.name}")
            self._plumbing.append(f"RELEASE SAVEPOINT {frame.name}")

    def _pop_committed(self) -> None:
        while self._frames and self._frames[-1].committed:
            self._pop_top(release=True)

    # -- driven by engine events -------------------------------------------

    def begin(self, owner: object, autocommit: bool = False) -> None:
        """Give a savepoint to the transaction a SQLAlchemy connection began.

        :param owner: the SQLAlchemy connection.
        :param autocommit: it runs in AUTOCOMMIT: each of its statements
            gets a savepoint of its own, so a failed one does not poison the next.
        """
        with self._lock:
            self._push(owner).autocommit = autocommit

    def end(self, owner: object, commit: bool) -> None:
        """Release or roll back the savepoint of a SQLAlchemy connection's transaction.

        :param owner: the SQLAlchemy connection.
        :param commit: it committed (else it rolled back).
        """
        with self._lock:
            index = self.find(owner)
            if index is None:  # its savepoint was already destroyed by an outer rollback
                return
            refusal = None if commit else self._refused_rollback(index)
            if refusal is not None:
                self._end_frame(index, commit=True)  # keep the other thread's work
                raise refusal
            self._end_frame(index, commit)

    def _end_frame(self, index: int, commit: bool) -> None:
        if index == len(self._frames) - 1:
            self._pop_top(release=commit)
            self._pop_committed()
        elif commit:
            # RELEASE would also destroy the savepoints opened above it.
            self._frames[index].committed = True
        else:
            # ROLLBACK TO undoes what the frames above it did as well: on
            # one connection savepoints nest strictly.
            for frame in self._frames[index + 1 :]:
                if not frame.sent:
                    self._plumbing.remove(f"SAVEPOINT {frame.name}")
            del self._frames[index + 1 :]
            self._pop_top(release=False)
            self._pop_committed()

    def _refused_rollback(self, index: int) -> IsolationError | None:
        """The error for a rollback of frame ``index`` that would undo another thread's work."""
        frames = self._frames
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

    def refuse_interleaved_statement(self) -> None:
        """Refuse a statement of a thread whose transaction is open below another thread's.

        Called before each statement is sent, when the innermost frame is
        another thread's: the statement would run inside that transaction,
        whose rollback would undo it.
        """
        me = threading.current_thread()
        frames = self._frames
        top = frames[-1].thread
        for frame in frames:
            if frame.thread is me:
                raise _threads_error(me, top, "sent a statement", "open above its own")


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
