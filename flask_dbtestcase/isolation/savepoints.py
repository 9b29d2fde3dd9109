"""The savepoint stack of the shared connection, whatever its driver.

Every logical transaction the application opens on a pinned engine becomes
a frame (:mod:`.frames`), driven by the engine's events (:meth:`~SavepointStack.begin`,
:meth:`~SavepointStack.end`); the test case opens and ends each test's
frame and the class's transaction. A frame's SAVEPOINT, RELEASE or ROLLBACK
TO is only queued: the pinned cursor takes it (:meth:`~SavepointStack.take_plumbing`,
which scans the statement for raw transaction control, :mod:`.statements`)
before every statement, sends it with the statement or just before it, and
reports the outcome. The stack knows no driver (:class:`~.protocol.DriverConnection`).
The app's threads share the connection: the stack's lock guards it, its
:class:`~.waits.Turns` makes a thread wait for its turn (:mod:`.frames`),
and its :class:`~.latethreads.ThreadLedger` refuses threads that outlive
their test. What is refused during a test fails it at its end
(:meth:`~SavepointStack.end_test`), even when the app caught the error.
"""

from __future__ import annotations

import threading
import typing as t

from ..errors import IsolationError
from .frames import STATEMENT, TEST_SAVEPOINT, Frame, Frames, may_write, rollback_outcome
from .protocol import DriverConnection, Escape, TransactionStatus
from .statements import (
    PLUMBING_SQLSTATES,
    escape_message,
    lost_connection_error,
    plumbing_error,
    scan,
    sqlstate,
)
from .waits import Turns, refused_message
from .writecheck import ConnectionWatch

__all__ = ["Escape", "SavepointStack"]

#: Statement texts known to parse: the most remembered (then forgotten, all at once).
_KNOWN_LIMIT = 4096


class SavepointStack:
    """The frames of one shared connection, their queued plumbing and each statement's outcome.

    :param conn: the connection it belongs to.
    :param driver_error: the driver's base exception class.
    """

    def __init__(self, conn: DriverConnection, driver_error: type[Exception]) -> None:
        self._conn = conn
        self._driver_error = driver_error
        # Held while the stack changes, and while a statement, its plumbing
        # and the report of its outcome go out (see sending()).
        self._lock = threading.RLock()
        self._frames = Frames()
        self._test_frame: Frame | None = None
        self._test_savepoint_established = False
        self._used = False  # has a statement run since the test began?
        # What the statement being sent took: its plumbing, the frames it sent.
        self._taken: tuple[list[str], list[Frame]] | None = None
        # Statement texts that ran: they parse, so they may carry the plumbing.
        self._known: set[t.Any] = set()
        self._resets: set[str] = set()  # session state to reset at the test's end
        self._suspect: str | None = None  # transaction control the scan saw
        self._escape: Escape | None = None  # a test got past the savepoints
        self._turns = Turns(self._lock, self._frames)  # threads waiting for their turn
        #: The check of writes made past this connection (:mod:`.writecheck`),
        #: if its database has one.
        self.watch: ConnectionWatch | None = None

    @property
    def used(self) -> bool:
        """Whether a statement ran since the test began."""
        return self._used

    @property
    def plumbing(self) -> list[str]:
        """The plumbing queued for the next statement (a copy)."""
        return list(self._frames.plumbing)

    @property
    def turns(self) -> Turns:
        """The threads' turns on the connection: its bound, what was refused during the test."""
        return self._turns

    # -- driven by engine events -------------------------------------------

    def find(self, owner: object) -> int | None:
        """Return the index of ``owner``'s innermost frame, or None.

        :param owner: a SQLAlchemy connection, or a test.
        """
        return self._frames.find(owner)

    def begin(self, owner: object, autocommit: bool = False) -> None:
        """Give a savepoint to the transaction a SQLAlchemy connection began.

        :param owner: the SQLAlchemy connection.
        :param autocommit: it runs in AUTOCOMMIT: each of its statements
            gets a savepoint of its own, so a failed one does not poison the next.
        """
        with self._lock:
            if self._turns.late():
                return  # no savepoint: its statements are refused
            self._turns.before_begin()
            self._frames.push(owner).autocommit = autocommit

    def end(self, owner: object, commit: bool) -> None:
        """Release or roll back the savepoint of a SQLAlchemy connection's transaction.

        :param owner: the SQLAlchemy connection.
        :param commit: it committed (else it rolled back).
        """
        with self._lock:
            if commit and self._turns.late():
                raise self._turns.ledger.refuse("commit its transaction")
            frames = self._frames
            index = frames.find(owner)
            if index is None:  # destroyed by an outer rollback (or a late thread's)
                return
            turns = self._turns
            refusal = turns.before_end(owner, "commit" if commit else "roll back")
            index = frames.find(owner)
            if index is None:
                return
            outcome = None if commit else rollback_outcome(frames.stack, index, turns.home_thread())
            if outcome is None:
                frames.end(index, commit)
            else:  # keep the other threads' work
                frames.release_from(index)
            turns.notify()
            if refusal is not None:
                raise refusal
            if isinstance(outcome, IsolationError):
                raise turns.refuse(outcome)

    # -- driven by the pinned cursor -----------------------------------------

    def sending(self) -> threading.RLock:
        """Return the lock held while a statement, its plumbing and its outcome's report go out."""
        return self._lock

    def take_plumbing(self, query: t.Any = None, own_savepoint: bool = True) -> list[str]:
        """Return the plumbing to send with the next statement (called before every one).

        Raw transaction control in it (:func:`.statements.scan`), or a thread
        that outlived its test, raises IsolationError. The frames count as sent from here on.

        :param query: the statement about to be sent, if it is known.
        :param own_savepoint: in an AUTOCOMMIT transaction, give the statement
            a savepoint of its own (the caller reports its outcome to
            :meth:`statement_done` or :meth:`statement_failed`).
        """
        if self._conn.closed:
            raise lost_connection_error()
        found = scan(query) if query is not None else None
        with self._lock:
            if self._escape is not None and self._escape.reported:
                raise IsolationError(self._escape.message)
            if found is not None:
                self._resets.update(found.resets)
                self._suspect = found.suspect or self._suspect
            if self._turns.late():
                raise self._turns.ledger.refuse("send a statement")
            frames = self._frames
            stack = frames.stack
            if stack and stack[-1].thread is not threading.current_thread():
                self._turns.before_statement()
            self._used = True
            if stack:
                if own_savepoint and stack[-1].autocommit:
                    frames.push(STATEMENT)  # its own savepoint, as in production
                top = stack[-1]
                if not top.wrote and may_write(query):
                    top.wrote = True
            plumbing = frames.plumbing
            if not plumbing:
                self._taken = None
                return []
            statements = list(plumbing)
            plumbing.clear()
            unsent = [frame for frame in stack if not frame.sent]
            for frame in unsent:
                frame.sent = True
            self._taken = (statements, unsent)
            return statements

    def known_statement(self, query: t.Any) -> bool:
        """Tell whether ``query`` ran before, so it parses and may carry the plumbing.

        :param query: the statement's text.
        """
        return query in self._known

    def statement_done(self, query: t.Any) -> None:
        """Note that a statement ran: it parses; an AUTOCOMMIT statement is final.

        :param query: the statement's text.
        """
        self._taken = None
        known = self._known
        if len(known) >= _KNOWN_LIMIT:
            known.clear()
        try:
            known.add(query)
        except TypeError:  # not hashable: not remembered
            pass
        stack = self._frames.stack
        if stack and stack[-1].owner is STATEMENT:
            with self._lock:
                self._frames.pop_top(release=True)
                self._turns.notify()

    def statement_failed(self, exc: BaseException) -> None:
        """Put the plumbing back if the statement never reached the server; name plumbing errors.

        Raises IsolationError (from None) when the failure was the
        framework's own plumbing: the test ended or changed its transaction.

        :param exc: what the statement raised.
        """
        with self._lock:
            taken, self._taken = self._taken, None
            code = sqlstate(exc)
            frames = self._frames
            statement_frame = bool(frames.stack) and frames.stack[-1].owner is STATEMENT
            if code is None and not self._conn.closed:  # failed on the client: nothing was sent
                if taken is not None:
                    frames.plumbing[:0] = taken[0]
                    for frame in taken[1]:
                        frame.sent = False
                if statement_frame:
                    frames.pop_top(release=False)
                    self._turns.notify()
                return
            if code in PLUMBING_SQLSTATES and (taken is not None or "fdt_" in str(exc)):
                error = plumbing_error(exc)
                self._escape = Escape(str(error), reported=True)
                raise error from None
            if statement_frame:
                frames.pop_top(release=False)
                self._turns.notify()

    def send_taken(self, statements: t.Sequence[str]) -> None:
        """Send the plumbing :meth:`take_plumbing` handed out, now, before the statement.

        From here on it has reached the server: if the statement then fails
        on the client (a parameter the driver cannot adapt), nothing is put back.

        :param statements: what :meth:`take_plumbing` returned.
        """
        self._conn.send_plumbing(statements)
        self._taken = None

    def flush_plumbing(self, query: t.Any = None) -> None:
        """Send the pending plumbing now, on its own (before a statement that cannot carry it).

        :param query: the statement it goes before, if it is known (it is scanned).
        """
        statements = self.take_plumbing(query, own_savepoint=False)
        if statements:
            try:
                self.send_taken(statements)
            except Exception as exc:
                self.statement_failed(exc)
                raise

    # -- driven by the test case ---------------------------------------------

    def begin_test(self, test: object) -> None:
        """Open the savepoint that brackets one test (sent with its first statement).

        :param test: the test; its ``thread_wait_timeout`` attribute, if any,
            bounds the threads' waits during it.
        """
        with self._lock:
            if self._frames.stack:
                raise IsolationError(
                    "A transaction opened before this test is still open on the test "
                    "connection. Close connections and sessions you open in "
                    "setUpTestData or setUpClass."
                )
            self._used = False
            self._turns.begin_test(test, getattr(test, "thread_wait_timeout", None))
            if self._test_savepoint_established:  # ROLLBACK TO kept it: reused, unsent
                self._test_frame = Frame(test, TEST_SAVEPOINT, sent=True)
                self._frames.stack.append(self._test_frame)
            else:
                self._test_frame = self._frames.push(test, TEST_SAVEPOINT)
            self._conn.test_began()

    def end_test(self, check_constraints: bool = False) -> None:
        """Undo everything the test did. Raises IsolationError if it escaped.

        Other threads' open transactions are waited for first (bounded, then
        named); what was refused during the test (late threads too) fails it.
        The session state the test left is reset, and the :attr:`watch` checks,
        with its ``ROLLBACK TO``. A test that broke the test transaction leaves
        an escape (:meth:`take_escape`) for the test case to recover from.

        :param check_constraints: check the deferred constraints first, as a
            commit would.
        """
        with self._lock:
            turns = self._turns
            stuck = turns.wait_for_others()
            try:
                self._undo_test(check_constraints)
            finally:
                refused = turns.end_test()
            if stuck is not None:
                raise stuck
            if refused:
                raise IsolationError(refused_message(refused))

    def _undo_test(self, check_constraints: bool) -> None:
        """Roll the test back (the lock held): the body of :meth:`end_test`."""
        frame, self._test_frame = self._test_frame, None
        self._frames.stack.clear()
        self._frames.plumbing.clear()
        self._taken = None
        resets, self._resets = sorted(self._resets), set()
        suspect, self._suspect = self._suspect, None
        conn = self._conn
        if frame is None or conn.closed:
            return
        if self._escape is not None:
            self._test_savepoint_established = False
            if not self._escape.reported:
                self._escape.reported = True
                raise IsolationError(self._escape.message)
            return
        watch = self.watch
        if not (self._used and frame.sent):
            if watch is not None:
                watch.skipped(frame.owner)  # checked later: this test sent nothing
            return
        status = conn.transaction_status
        if status == TransactionStatus.IDLE:
            raise self._escaped(frame.owner, suspect, "ended the transaction")
        self._test_savepoint_established = True
        error: Exception | None = None
        if check_constraints and status != TransactionStatus.INERROR:
            try:
                conn.send_plumbing(["SET CONSTRAINTS ALL IMMEDIATE"])
            except self._driver_error as exc:
                error = exc
        checks = watch.statements() if watch is not None else []
        try:
            conn.send_plumbing([f"ROLLBACK TO SAVEPOINT {TEST_SAVEPOINT}", *resets, *checks])
        except self._driver_error as exc:
            found = watch.found(exc, frame.owner) if watch is not None else None
            if found is not None:  # a write got past this connection
                self._test_savepoint_established = False
                self._escape = Escape(found, reported=True)
                raise IsolationError(found) from None
            if sqlstate(exc) not in PLUMBING_SQLSTATES:
                raise
            raise self._escaped(frame.owner, suspect, "destroyed the savepoint") from None
        if watch is not None:
            watch.checked()
        conn.test_rolled_back()
        if error is not None:
            raise IsolationError(
                f"A deferred constraint was violated by this test's data: {error}"
            ) from None

    def _escaped(self, test: object, suspect: str | None, gone: str) -> IsolationError:
        self._test_savepoint_established = False
        message = escape_message(test, suspect, gone)
        self._escape = Escape(message, reported=True)
        return IsolationError(message)

    def take_escape(self) -> Escape | None:
        """Return the escape of the test that just ended, if any, and forget it."""
        with self._lock:
            escape, self._escape = self._escape, None
            return escape

    def end_class(self) -> None:
        """Roll back the class's data: a real ROLLBACK of the outer transaction."""
        with self._lock:
            self._frames.stack.clear()
            self._frames.plumbing.clear()
            self._taken = None
            self._suspect = None
            self._test_frame = None
            self._test_savepoint_established = False
            resets, self._resets = sorted(self._resets), set()
            if not self._conn.closed:
                self._conn.real_rollback()
                if resets:  # the class's own advisory locks, prepared statements
                    self._conn.send_plumbing(resets)
                    self._conn.real_rollback()
