"""The savepoint engine of the shared connection, whatever its driver.

Every logical transaction the application opens on a pinned engine becomes a
*frame*: a SAVEPOINT of its own on the one connection. The plumbing is lazy:
a SAVEPOINT is queued and sent with the next statement, and so are RELEASE
and ROLLBACK TO; a transaction that ran no statement costs nothing. See
:mod:`.isolation` for how engines are routed here.

:class:`PinnedConnection` is all of that, and knows no driver. A driver
adapter (:mod:`.psycopg2_driver`, :mod:`.psycopg_driver`) mixes it into the
driver's own connection class and supplies three things: how to send
plumbing now (:meth:`PinnedConnection.send_plumbing`), how to really roll
back and close, and a cursor that calls :meth:`PinnedConnection.take_plumbing`
before each statement and sends what it returns with the statement, or just
before it. Both drivers report the transaction status as libpq does
(``conn.info.transaction_status``), which the checks here read.
"""

from __future__ import annotations

import dataclasses
import enum
import threading
import typing as t

from ..errors import IsolationError
from .statements import (
    PLUMBING_SQLSTATES,
    escape_message,
    lost_connection_error,
    plumbing_error,
    scan,
    sqlstate,
)
from .watch import ConnectionWatch

__all__ = ["TEST_SAVEPOINT", "Escape", "PinnedConnection", "PinnedCursor", "TransactionStatus"]

#: Statement texts known to parse: the most remembered (then forgotten, all at once).
_KNOWN_LIMIT = 4096

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
class _Frame:
    """One logical transaction opened on the shared connection."""

    owner: object  # the SQLAlchemy Connection, or the test itself
    name: str
    sent: bool = False  # has its SAVEPOINT reached the server?
    committed: bool = False  # committed while frames above it were open
    autocommit: bool = False  # each statement in it gets a savepoint of its own


#: The owner of the savepoint of one AUTOCOMMIT statement.
_STATEMENT = object()


@dataclasses.dataclass
class Escape:
    """A test that got past the savepoints: what the test case must recover from.

    :param message: the IsolationError's message.
    :param reported: the test already got it (raised by a statement).
    """

    message: str
    reported: bool = False


class PinnedCursor:
    """What the adapters' cursors share: the pinned connection they belong to.

    A pinned cursor calls :meth:`PinnedConnection.take_plumbing` before each
    statement and sends the statements it returns first, in the same round
    trip when the driver allows it.
    """

    connection: t.Any  # the adapter's connection: a PinnedConnection


class PinnedConnection:
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
    closed: t.Any
    info: t.Any

    def init_savepoints(self) -> None:
        """Start with no frame and no plumbing (the adapter's ``__init__`` calls it)."""
        self._frames: list[_Frame] = []
        self._plumbing: list[str] = []
        self._counter = 0
        self._test_frame: _Frame | None = None
        self._test_savepoint_established = False
        self._used = False  # has a statement run since the test began?
        self._lock = threading.RLock()
        # What the statement being sent took: its plumbing, the frames it sent.
        self._taken: tuple[list[str], list[_Frame]] | None = None
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

    # -- plumbing ----------------------------------------------------------

    def take_plumbing(self, query: t.Any = None, own_savepoint: bool = True) -> list[str]:
        """Return the plumbing to send with the next statement (called before every one).

        The statement is scanned first (:func:`.statements.scan`): raw
        transaction control raises IsolationError here, before anything is
        sent. The frames count as sent from here on; if the statement then
        fails before it reaches the server, :meth:`statement_failed` puts the
        plumbing back.

        :param query: the statement about to be sent, if it is known.
        :param own_savepoint: in an AUTOCOMMIT transaction, give the statement
            a savepoint of its own (the caller reports its outcome to
            :meth:`statement_done` or :meth:`statement_failed`).
        """
        if self.closed:
            raise lost_connection_error()
        found = scan(query) if query is not None else None
        with self._lock:
            if self.escape is not None and self.escape.reported:
                raise IsolationError(self.escape.message)
            if found is not None:
                self._resets.update(found.resets)
                self._suspect = found.suspect or self._suspect
            self._used = True
            if own_savepoint and self._frames and self._frames[-1].autocommit:
                self._push(_STATEMENT)  # its own savepoint, as in production
            if not self._plumbing:
                self._taken = None
                return []
            statements = list(self._plumbing)
            self._plumbing.clear()
            unsent = [frame for frame in self._frames if not frame.sent]
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
        frames = self._frames
        if frames and frames[-1].owner is _STATEMENT:
            with self._lock:
                self._pop_top(release=True)

    def statement_failed(self, exc: BaseException) -> None:
        """Put the plumbing back if the statement never reached the server; name plumbing errors.

        Raises IsolationError (from None) when the failure was the
        framework's own plumbing: the test ended or changed its transaction.

        :param exc: what the statement raised.
        """
        with self._lock:
            taken, self._taken = self._taken, None
            code = sqlstate(exc)
            statement_frame = bool(self._frames) and self._frames[-1].owner is _STATEMENT
            if code is None and not self.closed:  # failed on the client: nothing was sent
                if taken is not None:
                    self._plumbing[:0] = taken[0]
                    for frame in taken[1]:
                        frame.sent = False
                if statement_frame:
                    self._pop_top(release=False)
                return
            if code in PLUMBING_SQLSTATES and (taken is not None or "fdt_" in str(exc)):
                error = plumbing_error(exc)
                self.escape = Escape(str(error), reported=True)
                raise error from None
            if statement_frame:
                self._pop_top(release=False)

    def flush_plumbing(self, query: t.Any = None) -> None:
        """Send the pending plumbing now, on its own (before a statement that cannot carry it).

        :param query: the statement it goes before, if it is known (it is scanned).
        """
        statements = self.take_plumbing(query, own_savepoint=False)
        if statements:
            try:
                self.send_plumbing(statements)
            except Exception as exc:
                self.statement_failed(exc)
                raise

    def _new_name(self) -> str:
        self._counter += 1
        return f"fdt_{self._counter}"

    def _push(self, owner: object, name: str | None = None) -> _Frame:
        frame = _Frame(owner, name or self._new_name())
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
                self._test_frame = _Frame(test, TEST_SAVEPOINT, sent=True)
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
