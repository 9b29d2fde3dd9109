"""What became of each statement sent on the shared connection, and its plumbing.

The pinned cursor asks :meth:`StatementOutcomes.take_plumbing` for the
pending plumbing before every statement (the statement is scanned for raw
transaction control there, see :mod:`.statements`), and reports the outcome:
:meth:`~StatementOutcomes.statement_done`, or
:meth:`~StatementOutcomes.statement_failed`, which puts the plumbing back when
the statement never reached the server and names a failure of the plumbing
itself (a test that got past the savepoints) as an IsolationError.
"""

from __future__ import annotations

import threading
import typing as t

from ..errors import IsolationError
from .frames import STATEMENT, Escape, Frame, FrameStack
from .statements import PLUMBING_SQLSTATES, lost_connection_error, plumbing_error, scan, sqlstate

__all__ = ["StatementOutcomes"]

#: Statement texts known to parse: the most remembered (then forgotten, all at once).
_KNOWN_LIMIT = 4096


class StatementOutcomes(FrameStack):
    """The plumbing's side of each statement (a base of the pinned connection).

    The state is set by :meth:`.PinnedConnection.init_savepoints`.
    """

    _used: bool
    _taken: tuple[list[str], list[Frame]] | None
    _known: set[t.Any]
    _resets: set[str]
    _suspect: str | None
    escape: Escape | None

    # Provided by the driver's connection class and its adapter.
    closed: t.Any
    send_plumbing: t.Callable[[t.Sequence[str]], None]

    def sending(self) -> threading.RLock:
        """Return the lock a cursor holds while it sends a statement and its plumbing.

        Two threads of the app share the connection: each statement, the
        plumbing it carries and the report of its outcome go out as one,
        never interleaved with another thread's.
        """
        return self._lock

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
            frames = self._frames
            if frames and frames[-1].thread is not threading.current_thread():
                self.refuse_interleaved_statement()
            self._used = True
            if own_savepoint and self._frames and self._frames[-1].autocommit:
                self._push(STATEMENT)  # its own savepoint, as in production
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
        if frames and frames[-1].owner is STATEMENT:
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
            statement_frame = bool(self._frames) and self._frames[-1].owner is STATEMENT
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
