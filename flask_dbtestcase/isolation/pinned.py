"""The savepoint engine of the shared connection, whatever its driver.

Every logical transaction the application opens on a pinned engine becomes a
*frame*: a SAVEPOINT of its own on the one connection. The plumbing is lazy:
a SAVEPOINT is queued and sent with the next statement, and so are RELEASE
and ROLLBACK TO; a transaction that ran no statement costs nothing. See
:mod:`.isolation` for how engines are routed here.

:class:`PinnedConnection` is all of that, and knows no driver: the frames
and the engine events that drive them are in :mod:`.frames`, what each
statement does to the plumbing in :mod:`.outcomes`; the test's and the
class's ends are here. A driver
adapter (:mod:`.psycopg2_driver`, :mod:`.psycopg_driver`) mixes it into the
driver's own connection class and supplies three things: how to send
plumbing now (:meth:`PinnedConnection.send_plumbing`), how to really roll
back and close, and a cursor that calls :meth:`PinnedConnection.take_plumbing`
before each statement and sends what it returns with the statement, or just
before it. Both drivers report the transaction status as libpq does
(``conn.info.transaction_status``), which the checks here read.
"""

from __future__ import annotations

import threading
import typing as t

from ..errors import IsolationError
from .frames import TEST_SAVEPOINT, Escape, Frame, TransactionStatus
from .outcomes import StatementOutcomes
from .statements import PLUMBING_SQLSTATES, escape_message, sqlstate
from .watch import ConnectionWatch

__all__ = ["TEST_SAVEPOINT", "Escape", "PinnedConnection", "PinnedCursor", "TransactionStatus"]


class PinnedCursor:
    """What the adapters' cursors share: the pinned connection they belong to.

    A pinned cursor calls :meth:`PinnedConnection.take_plumbing` before each
    statement and sends the statements it returns first, in the same round
    trip when the driver allows it.
    """

    connection: t.Any  # the adapter's connection: a PinnedConnection


class PinnedConnection(StatementOutcomes):
    """The one connection all of a test database's engines share: its savepoints.

    Mixed into a driver's connection class by an adapter. ``commit()``,
    ``rollback()``, ``close()`` and switching to autocommit are no-ops:
    transaction boundaries are driven by the engine events in
    :func:`~flask_dbtestcase.isolation.engines.pin_engine`, which turn them
    into savepoints.
    """

    #: The driver's name, as SQLAlchemy spells it (``psycopg2``, ``psycopg``).
    driver: t.ClassVar[str] = ""
    #: The driver's base exception class.
    driver_error: t.ClassVar[type[Exception]] = Exception

    #: The check of writes made past this connection (:mod:`.watch`), if its database has one.
    watch: ConnectionWatch | None = None

    # Provided by the driver's connection class.
    info: t.Any

    def init_savepoints(self) -> None:
        """Start with no frame and no plumbing (the adapter's ``__init__`` calls it)."""
        self._frames: list[Frame] = []
        self._plumbing: list[str] = []
        self._counter = 0
        self._test_frame: Frame | None = None
        self._test_savepoint_established = False
        self._used = False  # has a statement run since the test began?
        self._lock = threading.RLock()
        # What the statement being sent took: its plumbing, the frames it sent.
        self._taken: tuple[list[str], list[Frame]] | None = None
        # Statement texts that ran: they parse, so they may carry the plumbing
        # (a syntax error would take it down with them, unsent).
        self._known: set[t.Any] = set()
        self._resets: set[str] = set()  # session state to reset at the test's end
        self._suspect: str | None = None  # transaction control the scan saw
        #: Set when a test got past the savepoints (see :meth:`take_escape`).
        self.escape: Escape | None = None

    # -- what an adapter provides --------------------------------------------

    def send_plumbing(self, statements: t.Sequence[str]) -> None:
        """Send ``statements`` now, in one round trip, past the pinned cursor.

        :param statements: SQL statements, run in order.
        """
        raise NotImplementedError

    def real_rollback(self) -> None:
        """Really roll back the connection's transaction (the driver's ``rollback``)."""
        raise NotImplementedError

    def real_commit(self) -> None:
        """Really commit the connection's transaction (the driver's ``commit``)."""
        raise NotImplementedError

    def close_for_real(self) -> None:
        """Close the connection (end of the run)."""
        raise NotImplementedError

    def test_began(self) -> None:
        """Note what :meth:`test_rolled_back` resets (a hook: nothing to note here)."""

    def test_rolled_back(self) -> None:
        """Reset the session state ``ROLLBACK TO`` leaves behind (a hook: none here)."""

    # -- DBAPI surface the application (through SQLAlchemy) sees ----------

    def commit(self) -> None:
        """Ignore this: the engine's ``commit`` event released the savepoint."""

    def rollback(self) -> None:
        """Ignore this: the engine's ``rollback`` event rolled the savepoint back."""

    def close(self) -> None:
        """Ignore this: the connection lives as long as the test run."""

    @property
    def transaction_status(self) -> TransactionStatus:
        """The server's view of the transaction, as libpq reports it."""
        return TransactionStatus(int(self.info.transaction_status))

    # -- driven by the test case ---------------------------------------------

    def begin_test(self, test: object) -> None:
        """Open the savepoint that brackets one test (sent with its first statement).

        :param test: the test.
        """
        with self._lock:
            if self._frames:
                raise IsolationError(
                    "A transaction opened before this test is still open on the test "
                    "connection. Close connections and sessions you open in "
                    "setUpTestData or setUpClass."
                )
            self._used = False
            if self._test_savepoint_established:
                self._test_frame = Frame(test, TEST_SAVEPOINT, sent=True)
                self._frames.append(self._test_frame)
            else:
                self._test_frame = self._push(test, TEST_SAVEPOINT)
            self.test_began()

    def end_test(self, check_constraints: bool = False) -> None:
        """Undo everything the test did. Raises IsolationError if it escaped.

        The session state the test left (advisory locks, prepared
        statements) is reset in the same round trip as its ``ROLLBACK TO``,
        and the :attr:`watch`'s check of writes made past this connection runs in it.
        A test that ended or broke the test transaction leaves
        :attr:`escape` set: the test case rolls back, empties the tables
        and rebuilds the class's data.

        :param check_constraints: check the deferred constraints first, as a
            commit would.
        """
        with self._lock:
            frame, self._test_frame = self._test_frame, None
            self._frames.clear()
            self._plumbing.clear()
            self._taken = None
            resets, self._resets = sorted(self._resets), set()
            suspect, self._suspect = self._suspect, None
            if frame is None or self.closed:
                return
            if self.escape is not None:
                self._test_savepoint_established = False
                if not self.escape.reported:
                    self.escape.reported = True
                    raise IsolationError(self.escape.message)
                return
            if not (self._used and frame.sent):
                if self.watch is not None:
                    self.watch.skipped(frame.owner)  # checked later: this test sent nothing
                return
            status = self.transaction_status
            if status == TransactionStatus.IDLE:
                raise self._escaped(frame.owner, suspect, "ended the transaction")
            self._test_savepoint_established = True
            error: Exception | None = None
            if check_constraints and status != TransactionStatus.INERROR:
                try:
                    self.send_plumbing(["SET CONSTRAINTS ALL IMMEDIATE"])
                except self.driver_error as exc:
                    error = exc
            checks = self.watch.statements() if self.watch is not None else []
            try:
                self.send_plumbing([f"ROLLBACK TO SAVEPOINT {TEST_SAVEPOINT}", *resets, *checks])
            except self.driver_error as exc:
                found = self.watch.found(exc, frame.owner) if self.watch is not None else None
                if found is not None:  # a write got past this connection
                    self._test_savepoint_established = False
                    self.escape = Escape(found, reported=True)
                    raise IsolationError(found) from None
                if sqlstate(exc) not in PLUMBING_SQLSTATES:
                    raise
                raise self._escaped(frame.owner, suspect, "destroyed the savepoint") from None
            if self.watch is not None:
                self.watch.checked()
            self.test_rolled_back()
            if error is not None:
                raise IsolationError(
                    f"A deferred constraint was violated by this test's data: {error}"
                ) from None

    def _escaped(self, test: object, suspect: str | None, gone: str) -> IsolationError:
        self._test_savepoint_established = False
        message = escape_message(test, suspect, gone)
        self.escape = Escape(message, reported=True)
        return IsolationError(message)

    def take_escape(self) -> Escape | None:
        """Return the escape of the test that just ended, if any, and forget it."""
        with self._lock:
            escape, self.escape = self.escape, None
            return escape

    def end_class(self) -> None:
        """Roll back the class's data: a real ROLLBACK of the outer transaction."""
        with self._lock:
            self._frames.clear()
            self._plumbing.clear()
            self._taken = None
            self._suspect = None
            self._test_frame = None
            self._test_savepoint_established = False
            resets, self._resets = sorted(self._resets), set()
            if not self.closed:
                self.real_rollback()
                if resets:  # the class's own advisory locks, prepared statements
                    self.send_plumbing(resets)
                    self.real_rollback()
