"""The shared psycopg2 connection and its savepoint bookkeeping.

Every logical transaction the application opens on a pinned engine becomes a
*frame*: a SAVEPOINT of its own on the one connection. The plumbing is lazy:
a SAVEPOINT is queued and sent in the same round trip as the next statement
(prepended to it), and so are RELEASE and ROLLBACK TO; a transaction that
ran no statement costs nothing. See :mod:`.isolation` for how engines are
routed here.
"""

from __future__ import annotations

import dataclasses
import threading
import typing as t

import psycopg2.extensions

from ..errors import IsolationError

__all__ = ["TEST_SAVEPOINT", "PinnedConnection", "PinnedCursor"]

#: The savepoint that brackets one test. ``ROLLBACK TO`` keeps it
#: established, so the next test of the class reuses it for free.
TEST_SAVEPOINT = "fdt_test"


@dataclasses.dataclass(eq=False)
class _Frame:
    """One logical transaction opened on the shared connection."""

    owner: object  # the SQLAlchemy Connection, or the test itself
    name: str
    sent: bool = False  # has its SAVEPOINT reached the server?
    committed: bool = False  # committed while frames above it were open


class PinnedCursor(psycopg2.extensions.cursor):
    """A cursor that sends the connection's pending plumbing with its statement."""

    connection: PinnedConnection

    def execute(self, query: t.Any, vars: t.Any = None) -> None:
        """Run a statement, with the pending plumbing prepended to it.

        :param query: the statement: ``str``, ``bytes`` or a
            :mod:`psycopg2.sql` composable.
        :param vars: its parameters.
        """
        prefix = self.connection.take_plumbing()
        if prefix:
            if self.name is not None:  # DECLARE ... CURSOR cannot carry a prefix
                self.connection._send(prefix)
            elif isinstance(query, bytes):
                query = prefix.encode() + query
            else:
                if not isinstance(query, str):  # psycopg2.sql.Composable
                    query = query.as_string(self)
                query = prefix + query
        return super().execute(query, vars)

    def executemany(self, query: t.Any, vars_list: t.Any) -> None:
        """Send the pending plumbing, then run a statement for each set of parameters.

        :param query: the statement.
        :param vars_list: its sets of parameters.
        """
        self.connection._flush_plumbing()
        return super().executemany(query, vars_list)

    def callproc(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Send the pending plumbing, then call a stored procedure.

        :param args: as for psycopg2's ``callproc``.
        :param kwargs: as for psycopg2's ``callproc``.
        """
        self.connection._flush_plumbing()
        return super().callproc(*args, **kwargs)

    def copy_expert(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Send the pending plumbing, then run a ``COPY``.

        :param args: as for psycopg2's ``copy_expert``.
        :param kwargs: as for psycopg2's ``copy_expert``.
        """
        self.connection._flush_plumbing()
        return super().copy_expert(*args, **kwargs)

    def copy_from(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Send the pending plumbing, then copy a file into a table.

        :param args: as for psycopg2's ``copy_from``.
        :param kwargs: as for psycopg2's ``copy_from``.
        """
        self.connection._flush_plumbing()
        return super().copy_from(*args, **kwargs)

    def copy_to(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Send the pending plumbing, then copy a table into a file.

        :param args: as for psycopg2's ``copy_to``.
        :param kwargs: as for psycopg2's ``copy_to``.
        """
        self.connection._flush_plumbing()
        return super().copy_to(*args, **kwargs)


class PinnedConnection(psycopg2.extensions.connection):
    """The one psycopg2 connection all of a test database's engines share.

    ``commit()``, ``rollback()``, ``close()`` and switching to autocommit are
    no-ops: transaction boundaries are driven by the engine events in
    :func:`~flask_dbtestcase.isolation.engines.pin_engine`, which turn them
    into savepoints.

    :param args: as for :class:`psycopg2.extensions.connection`.
    :param kwargs: as for :class:`psycopg2.extensions.connection`.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_factory = PinnedCursor
        self._frames: list[_Frame] = []
        self._plumbing: list[str] = []
        self._counter = 0
        self._test_frame: _Frame | None = None
        self._test_savepoint_established = False
        self._used = False  # has a statement run since the test began?
        self._lock = threading.RLock()

    # -- DBAPI surface the application (through SQLAlchemy) sees ----------

    def cursor(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Open a :class:`PinnedCursor` (another factory gets the plumbing sent first).

        :param args: as for psycopg2's ``cursor``.
        :param kwargs: as for psycopg2's ``cursor``.
        """
        factory = kwargs.get("cursor_factory")
        if factory is not None and not issubclass(factory, PinnedCursor):
            self._flush_plumbing()
        return super().cursor(*args, **kwargs)

    def commit(self) -> None:
        """Ignore this: the engine's ``commit`` event released the savepoint."""

    def rollback(self) -> None:
        """Ignore this: the engine's ``rollback`` event rolled the savepoint back."""

    def close(self) -> None:
        """Ignore this: the connection lives as long as the test run."""

    def set_session(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Ignore this: isolation level and read-only mode belong to the test transaction.

        :param args: ignored.
        :param kwargs: ignored.
        """

    def set_isolation_level(self, level: int | None) -> None:
        """Ignore this, as :meth:`set_session`.

        :param level: ignored.
        """

    @property
    def autocommit(self) -> bool:
        """Always False: the connection stays inside the test transaction."""
        return False

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        """Ignored: autocommit would make the app's writes permanent."""

    @property
    def readonly(self) -> None:
        """Always None: the server's default."""
        return None

    @readonly.setter
    def readonly(self, value: t.Any) -> None:
        """Ignored, as :meth:`set_session`."""

    @property
    def deferrable(self) -> None:
        """Always None: the server's default."""
        return None

    @deferrable.setter
    def deferrable(self, value: t.Any) -> None:
        """Ignored, as :meth:`set_session`."""

    # -- plumbing ----------------------------------------------------------

    def take_plumbing(self) -> str:
        """Return the plumbing to send with the next statement (called before every one)."""
        with self._lock:
            self._used = True
            if not self._plumbing:
                return ""
            prefix = ";\n".join(self._plumbing) + ";\n"
            self._plumbing.clear()
            for frame in self._frames:
                frame.sent = True
            return prefix

    def _send(self, sql: str) -> None:
        with super().cursor() as cur:
            cur.execute(sql)

    def _flush_plumbing(self) -> None:
        prefix = self.take_plumbing()
        if prefix:
            self._send(prefix)

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
        if frame.sent:
            if release:
                self._plumbing.append(f"RELEASE SAVEPOINT {frame.name}")
            else:
                self._plumbing.append(
                    f"ROLLBACK TO SAVEPOINT {frame.name}; RELEASE SAVEPOINT {frame.name}"
                )
        else:
            self._plumbing.remove(f"SAVEPOINT {frame.name}")

    def _pop_committed(self) -> None:
        while self._frames and self._frames[-1].committed:
            self._pop_top(release=True)

    # -- driven by engine events -------------------------------------------

    def begin(self, owner: object) -> None:
        """Give a savepoint to the transaction a SQLAlchemy connection began.

        :param owner: the SQLAlchemy connection.
        """
        with self._lock:
            self._push(owner)

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

    def end_test(self, check_constraints: bool = False) -> None:
        """Undo everything the test did. Raises IsolationError if it escaped.

        :param check_constraints: check the deferred constraints first, as a
            commit would.
        """
        with self._lock:
            frame, self._test_frame = self._test_frame, None
            self._frames.clear()
            self._plumbing.clear()
            if frame is None or not self._used or self.closed:
                return
            status = self.info.transaction_status
            if status == psycopg2.extensions.TRANSACTION_STATUS_IDLE:
                self._test_savepoint_established = False
                raise IsolationError(
                    "The test ended the test transaction itself, with a raw COMMIT, "
                    "ROLLBACK or END statement, so what it wrote may have been "
                    "committed to the test database and later tests may see it. Use "
                    "the session or connection API (db.session.commit(), "
                    "connection.commit()), which flask-dbtestcase turns into "
                    "savepoints, or use FlaskDBTransactionTestCase for code that "
                    "must really commit."
                )
            self._test_savepoint_established = True
            error: Exception | None = None
            if check_constraints and status != psycopg2.extensions.TRANSACTION_STATUS_INERROR:
                try:
                    self._send("SET CONSTRAINTS ALL IMMEDIATE")
                except psycopg2.Error as exc:
                    error = exc
            self._send(f"ROLLBACK TO SAVEPOINT {TEST_SAVEPOINT}")
            if error is not None:
                raise IsolationError(
                    f"A deferred constraint was violated by this test's data: {error}"
                ) from None

    def end_class(self) -> None:
        """Roll back the class's data: a real ROLLBACK of the outer transaction."""
        with self._lock:
            self._frames.clear()
            self._plumbing.clear()
            self._test_frame = None
            self._test_savepoint_established = False
            if not self.closed:
                psycopg2.extensions.connection.rollback(self)

    def close_for_real(self) -> None:
        """Close the connection (end of the run)."""
        if not self.closed:
            psycopg2.extensions.connection.close(self)
