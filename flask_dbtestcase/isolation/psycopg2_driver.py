"""The psycopg2 adapter of the shared connection.

The connection class creates the connection's savepoint stack
(:class:`~.savepoints.SavepointStack`) and hands it the test case's calls;
its cursors ask the stack for the pending plumbing before each statement.
psycopg2 interpolates parameters on the client and sends every ``execute``
as one simple query, so the pending plumbing is prepended to the statement
itself: one round trip for both. The connection comes from
``psycopg2.connect(connection_factory=Psycopg2Connection)``.
"""

from __future__ import annotations

import typing as t

import psycopg2.extensions

from ..errors import IsolationError
from .autocommit import AutocommitStatements
from .pinned import PinnedConnection
from .protocol import TransactionStatus
from .savepoints import SavepointStack
from .statements import lost_connection_error
from .writecheck import ConnectionWatch

__all__ = ["Psycopg2Connection", "Psycopg2Cursor", "Psycopg2LargeObject", "connect"]


def _prefixed(statements: t.Sequence[str], query: str | bytes) -> str | bytes:
    """Return ``query`` with ``statements`` in front of it (same type: ``str`` or ``bytes``)."""
    prefix = ";\n".join(statements) + ";\n"
    if isinstance(query, bytes):
        return prefix.encode() + query
    return prefix + query


class Psycopg2Cursor(psycopg2.extensions.cursor):
    """A cursor that sends the connection's pending plumbing with its statement."""

    connection: Psycopg2Connection

    def execute(self, query: t.Any, vars: t.Any = None) -> None:
        """Run a statement, with the pending plumbing prepended to it.

        The plumbing rides only on a statement that ran before (so it parses:
        a syntax error would take the plumbing down with it); before a new
        one it goes in a round trip of its own.

        :param query: the statement: ``str``, ``bytes`` or a
            :mod:`psycopg2.sql` composable.
        :param vars: its parameters.
        """
        conn = self.connection
        stack = conn.savepoints
        if not isinstance(query, (str, bytes)):  # psycopg2.sql.Composable
            query = query.as_string(self)
        if conn.autocommit_statements.asked:
            query = conn.autocommit_statements.statement(query)
        with stack.sending():
            statements = stack.take_plumbing(query)
            sent = query
            try:
                if statements:
                    if self.name is not None or not stack.known_statement(query):
                        stack.send_taken(statements)  # DECLARE ... CURSOR cannot carry a prefix
                    else:
                        sent = _prefixed(statements, query)
                super().execute(sent, vars)
            except Exception as exc:
                stack.statement_failed(exc)
                refused = conn.autocommit_statements.failure(exc, query)
                if refused is not None:
                    raise stack.turns.refuse(refused) from None
                raise
            stack.statement_done(query)

    def executemany(self, query: t.Any, vars_list: t.Any) -> None:
        """Send the pending plumbing, then run a statement for each set of parameters.

        :param query: the statement.
        :param vars_list: its sets of parameters.
        """
        stack = self.connection.savepoints
        with stack.sending():
            stack.flush_plumbing(query)
            return super().executemany(query, vars_list)

    def callproc(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Send the pending plumbing, then call a stored procedure.

        :param args: as for psycopg2's ``callproc``.
        :param kwargs: as for psycopg2's ``callproc``.
        """
        stack = self.connection.savepoints
        with stack.sending():
            stack.flush_plumbing()
            return super().callproc(*args, **kwargs)

    def copy_expert(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Send the pending plumbing, then run a ``COPY``.

        :param args: as for psycopg2's ``copy_expert``.
        :param kwargs: as for psycopg2's ``copy_expert``.
        """
        stack = self.connection.savepoints
        with stack.sending():
            stack.flush_plumbing()
            return super().copy_expert(*args, **kwargs)

    def copy_from(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Send the pending plumbing, then copy a file into a table.

        :param args: as for psycopg2's ``copy_from``.
        :param kwargs: as for psycopg2's ``copy_from``.
        """
        stack = self.connection.savepoints
        with stack.sending():
            stack.flush_plumbing()
            return super().copy_from(*args, **kwargs)

    def copy_to(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Send the pending plumbing, then copy a table into a file.

        :param args: as for psycopg2's ``copy_to``.
        :param kwargs: as for psycopg2's ``copy_to``.
        """
        stack = self.connection.savepoints
        with stack.sending():
            stack.flush_plumbing()
            return super().copy_to(*args, **kwargs)


class Psycopg2LargeObject(psycopg2.extensions.lobject):
    """A large object of the shared connection: the pending plumbing goes before its calls.

    :param conn: the shared connection.
    :param args: as for :class:`psycopg2.extensions.lobject`.
    """

    def __init__(self, conn: Psycopg2Connection, *args: t.Any) -> None:
        super().__init__(conn, *args)
        self._stack = conn.savepoints

    def _base(self) -> t.Any:
        """Send the pending plumbing of the connection; return psycopg2's own methods."""
        self._stack.flush_plumbing()
        return super()

    def read(self, *args: t.Any) -> t.Any:
        """Send the pending plumbing, then read.

        :param args: as for psycopg2's ``lobject.read``.
        """
        return self._base().read(*args)

    def write(self, data: t.Any) -> t.Any:
        """Send the pending plumbing, then write.

        :param data: as for psycopg2's ``lobject.write``.
        """
        return self._base().write(data)

    def truncate(self, *args: t.Any) -> None:
        """Send the pending plumbing, then truncate.

        :param args: as for psycopg2's ``lobject.truncate``.
        """
        self._base().truncate(*args)

    def export(self, file_name: str) -> None:
        """Send the pending plumbing, then export to a file.

        :param file_name: as for psycopg2's ``lobject.export``.
        """
        self._base().export(file_name)

    def unlink(self) -> None:
        """Send the pending plumbing, then delete the large object."""
        self._base().unlink()


class Psycopg2Connection(psycopg2.extensions.connection):
    """The shared connection, on psycopg2 (a :class:`~.pinned.PinnedConnection`).

    :param args: as for :class:`psycopg2.extensions.connection`.
    :param kwargs: as for :class:`psycopg2.extensions.connection`.
    """

    #: The driver's name, as SQLAlchemy spells it.
    driver: t.ClassVar[str] = "psycopg2"
    #: The driver's base exception class.
    driver_error: t.ClassVar[type[Exception]] = psycopg2.Error

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_factory = Psycopg2Cursor
        #: Its savepoints, frames and plumbing.
        self.savepoints = stack = SavepointStack(self, psycopg2.Error)
        #: What the app asked of autocommit, and the statements that need it.
        self.autocommit_statements = AutocommitStatements()
        # The test case's calls go straight to the stack (no call in between).
        self.begin_test = stack.begin_test
        self.end_test = stack.end_test
        self.take_escape = stack.take_escape
        self.end_class = stack.end_class

    @property
    def watch(self) -> ConnectionWatch | None:
        """The check of writes made past this connection, if its database has one."""
        return self.savepoints.watch

    # -- DBAPI surface the application (through SQLAlchemy) sees ----------

    def commit(self) -> None:
        """Ignore this: the engine's ``commit`` event released the savepoint."""

    def rollback(self) -> None:
        """Ignore this: the engine's ``rollback`` event rolled the savepoint back."""

    def close(self) -> None:
        """Ignore this: the connection lives as long as the test run."""

    def cursor(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Open a pinned cursor (another factory gets the plumbing sent first).

        :param args: as for psycopg2's ``cursor``.
        :param kwargs: as for psycopg2's ``cursor``.
        """
        if self.closed:
            raise lost_connection_error()
        factory: t.Any = kwargs.get("cursor_factory") or self.cursor_factory
        if not (isinstance(factory, type) and issubclass(factory, Psycopg2Cursor)):
            self.savepoints.flush_plumbing()
        return super().cursor(*args, **kwargs)

    def lobject(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Send the pending plumbing, then open a large object (its calls do the same).

        :param args: as for psycopg2's ``lobject``.
        :param kwargs: as for psycopg2's ``lobject``.
        """
        if self.closed:
            raise lost_connection_error()
        if len(args) < 5 and kwargs.get("lobject_factory") is None:
            kwargs["lobject_factory"] = Psycopg2LargeObject
        stack = self.savepoints
        with stack.sending():
            stack.flush_plumbing()
            return super().lobject(*args, **kwargs)

    def set_session(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Ignore this: isolation level and read-only mode belong to the test transaction.

        Autocommit asked for is noted (:attr:`autocommit`).

        :param args: ignored, but for ``autocommit`` (the fourth).
        :param kwargs: ignored, but for ``autocommit``.
        """
        autocommit = kwargs.get("autocommit", args[3] if len(args) > 3 else None)
        if autocommit is not None:
            self.autocommit_statements.asked = bool(autocommit)

    def set_isolation_level(self, level: int | None) -> None:
        """Ignore this, as :meth:`set_session` (autocommit asked for is noted).

        :param level: ignored, but for ``ISOLATION_LEVEL_AUTOCOMMIT``.
        """
        self.autocommit_statements.asked = level == psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT

    @property
    def autocommit(self) -> bool:
        """Always False: the connection stays inside the test transaction."""
        return False

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        """Note it, and stay in the test transaction (where the app's writes are undone).

        The statements that need autocommit are adapted (:mod:`.autocommit`).
        """
        self.autocommit_statements.asked = bool(value)

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

    # -- what the savepoint stack needs (a DriverConnection) ------------------

    @property
    def transaction_status(self) -> TransactionStatus:
        """The server's view of the transaction, as libpq reports it."""
        return TransactionStatus(int(self.info.transaction_status))

    def send_plumbing(self, statements: t.Sequence[str]) -> None:
        """Send ``statements`` now, as one query, on a plain cursor.

        :param statements: SQL statements, run in order.
        """
        with psycopg2.extensions.connection.cursor(
            self, cursor_factory=psycopg2.extensions.cursor
        ) as cur:
            cur.execute(";\n".join(statements))

    def real_rollback(self) -> None:
        """Really roll back (psycopg2's own ``rollback``)."""
        psycopg2.extensions.connection.rollback(self)
        self.autocommit_statements.class_ended()

    def test_began(self) -> None:
        """Note nothing: psycopg2 keeps no session state of its own past ``ROLLBACK TO``."""

    def test_rolled_back(self) -> None:
        """Reset nothing (see :meth:`test_began`)."""

    def real_commit(self) -> None:
        """Really commit (psycopg2's own ``commit``)."""
        psycopg2.extensions.connection.commit(self)

    def reset(self) -> None:
        """Refuse: psycopg2's ``reset()`` would roll back the test transaction."""
        raise IsolationError(
            "The test called reset() on the driver's connection, which rolls back "
            "the transaction that keeps the test isolated (and the class's data "
            "with it); flask-dbtestcase refused it. Use db.session.rollback() or "
            "connection.rollback(), which flask-dbtestcase turns into savepoints, "
            "or make the class a FlaskDBTransactionTestCase."
        )

    def close_for_real(self) -> None:
        """Close the connection (end of the run)."""
        if not self.closed:
            psycopg2.extensions.connection.close(self)


def connect(dbapi: t.Any, cargs: t.Sequence[t.Any], cparams: dict[str, t.Any]) -> PinnedConnection:
    """Open a shared connection as SQLAlchemy's psycopg2 dialect would.

    :param dbapi: the dialect's DBAPI module (``psycopg2``).
    :param cargs: the dialect's connection arguments.
    :param cparams: the dialect's connection keyword arguments.
    """
    conn: Psycopg2Connection = dbapi.connect(
        *cargs, connection_factory=Psycopg2Connection, **cparams
    )
    return conn
