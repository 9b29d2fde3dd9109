"""The psycopg (3) adapter of the shared connection.

As the psycopg2 adapter, the connection class creates the connection's
savepoint stack (:class:`~.savepoints.SavepointStack`) and hands it the test
case's calls; its cursors (:mod:`.psycopg_cursors`) ask the stack for the
pending plumbing. psycopg 3 binds parameters on the server and keeps
every result of a multi-statement query, which the cursors take care of.
It also prepares a statement on the server by itself once it ran
``prepare_threshold`` times, and a prepared statement outlives a ``ROLLBACK
TO``. The plumbing stays out of that cache: it is sent through the libpq
connection (``pgconn.exec_``), never counted nor prepared. A statement
prepared *during* a test may depend on what the test changed (``ALTER
TABLE`` in a test, then "cached plan must not change result type" in the
next one), so when a test prepared any, its end has psycopg forget them all
and deallocate them itself (``PrepareManager.clear``, what psycopg's own
``rollback()`` does): never a ``DEALLOCATE`` behind psycopg's back, which
would break its cache. A statement carrying a prefix runs unprepared that
once, as psycopg runs every multi-statement query.

The connection is a :class:`psycopg.Connection` subclass, opened through its
``connect`` classmethod; its ``cursor_factory`` and ``server_cursor_factory``
are the pinned cursors.
"""

from __future__ import annotations

import typing as t

import psycopg
from psycopg import pq

from .autocommit import AutocommitStatements
from .pinned import PinnedConnection
from .protocol import TransactionStatus
from .psycopg_cursors import PsycopgCursor, PsycopgServerCursor, pinned_cursor_class
from .savepoints import SavepointStack
from .statements import lost_connection_error
from .writecheck import ConnectionWatch

__all__ = ["PsycopgConnection", "connect"]


class PsycopgConnection(psycopg.Connection[t.Any]):
    """The shared connection, on psycopg 3 (a :class:`~.pinned.PinnedConnection`).

    :param args: as for :class:`psycopg.Connection`.
    :param kwargs: as for :class:`psycopg.Connection`.
    """

    #: The driver's name, as SQLAlchemy spells it.
    driver: t.ClassVar[str] = "psycopg"
    #: The driver's base exception class.
    driver_error: t.ClassVar[type[Exception]] = psycopg.Error

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_factory = PsycopgCursor
        self.server_cursor_factory = PsycopgServerCursor
        self._notice_handlers_added: list[t.Any] = []
        self._prepared_before: set[bytes] = set()
        #: Its savepoints, frames and plumbing.
        self.savepoints = stack = SavepointStack(self, psycopg.Error)
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

    @classmethod
    def connect(cls, conninfo: str = "", **kwargs: t.Any) -> t.Any:
        """Open the shared connection: never in autocommit, with pinned cursors.

        :param conninfo: as for :meth:`psycopg.Connection.connect`.
        :param kwargs: as for :meth:`psycopg.Connection.connect`; an
            ``autocommit`` is only noted, a ``cursor_factory`` gets pinned.
        """
        autocommit = kwargs.pop("autocommit", False)
        factory = kwargs.pop("cursor_factory", None)
        conn = super().connect(conninfo, **kwargs)
        conn.autocommit_statements.asked = bool(autocommit)
        if factory is not None:
            conn.cursor_factory = pinned_cursor_class(factory)
        return conn

    def cursor(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Open a cursor; on a connection the test closed, say so plainly.

        :param args: as for psycopg's ``cursor``.
        :param kwargs: as for psycopg's ``cursor``.
        """
        if self.closed:
            raise lost_connection_error()
        return super().cursor(*args, **kwargs)

    def add_notice_handler(self, callback: t.Any) -> None:
        """Add a notice handler once (each engine pinned to the connection adds its own).

        :param callback: as for psycopg's ``add_notice_handler``.
        """
        if callback not in self._notice_handlers_added:
            self._notice_handlers_added.append(callback)
            super().add_notice_handler(callback)

    def transaction(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Send the pending plumbing, then open psycopg's own transaction block.

        :param args: as for psycopg's ``transaction``.
        :param kwargs: as for psycopg's ``transaction``.
        """
        self.savepoints.flush_plumbing()
        return super().transaction(*args, **kwargs)

    def pipeline(self) -> t.Any:
        """Send the pending plumbing, then enter pipeline mode."""
        self.savepoints.flush_plumbing()
        return super().pipeline()

    def commit(self) -> None:
        """Ignore this: the engine's ``commit`` event released the savepoint."""

    def rollback(self) -> None:
        """Ignore this: the engine's ``rollback`` event rolled the savepoint back."""

    def close(self) -> None:
        """Ignore this: the connection lives as long as the test run."""

    # Transaction characteristics belong to the test transaction: ignored.

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

    def set_autocommit(self, value: bool) -> None:
        """Note it, as :attr:`autocommit`.

        :param value: whether the app wants autocommit.
        """
        self.autocommit_statements.asked = bool(value)

    @property
    def isolation_level(self) -> None:
        """Always None: the server's default."""
        return None

    @isolation_level.setter
    def isolation_level(self, value: t.Any) -> None:
        """Ignored: the isolation level belongs to the test transaction."""

    def set_isolation_level(self, value: t.Any) -> None:
        """Ignored, as :attr:`isolation_level`.

        :param value: ignored.
        """

    @property
    def read_only(self) -> None:
        """Always None: the server's default."""
        return None

    @read_only.setter
    def read_only(self, value: t.Any) -> None:
        """Ignored, as :attr:`isolation_level`."""

    def set_read_only(self, value: t.Any) -> None:
        """Ignored, as :attr:`isolation_level`.

        :param value: ignored.
        """

    @property
    def deferrable(self) -> None:
        """Always None: the server's default."""
        return None

    @deferrable.setter
    def deferrable(self, value: t.Any) -> None:
        """Ignored, as :attr:`isolation_level`."""

    def set_deferrable(self, value: t.Any) -> None:
        """Ignored, as :attr:`isolation_level`.

        :param value: ignored.
        """

    # -- what the savepoint stack needs (a DriverConnection) ------------------

    @property
    def transaction_status(self) -> TransactionStatus:
        """The server's view of the transaction, as libpq reports it."""
        return TransactionStatus(int(self.info.transaction_status))

    def send_plumbing(self, statements: t.Sequence[str]) -> None:
        """Send ``statements`` now, in one round trip, outside psycopg's statement cache.

        Out of a transaction (the first statement of a class) a ``BEGIN``
        goes first, as psycopg would send before a statement of its own.

        :param statements: SQL statements, run in order.
        """
        if self.pgconn.pipeline_status != pq.PipelineStatus.OFF:  # the app's pipeline
            for statement in statements:
                psycopg.Cursor(self).execute(statement, prepare=False)
            return
        if self.transaction_status == TransactionStatus.IDLE:
            statements = ["BEGIN", *statements]
        with self.lock:
            result = self.pgconn.exec_(";\n".join(statements).encode())
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise psycopg.errors.error_from_result(result, encoding=self.info.encoding)

    def _prepared_names(self) -> set[bytes]:
        """The statements psycopg prepared on this connection and keeps in its cache."""
        return set(self._prepared._names.values())

    def test_began(self) -> None:
        """Note the statements psycopg prepared before the test."""
        self._prepared_before = self._prepared_names()

    def test_rolled_back(self) -> None:
        """Have psycopg forget and deallocate its statements if the test prepared some."""
        if self._prepared_names() - self._prepared_before:
            manager = self._prepared
            manager.clear()  # psycopg's own reset, as after a ROLLBACK
            self.wait(manager.maintain_gen(self))  # its DEALLOCATE ALL, its cache empty

    def real_rollback(self) -> None:
        """Really roll back (psycopg's own ``rollback``, which also clears its statement cache)."""
        psycopg.Connection.rollback(self)
        self.autocommit_statements.class_ended()

    def real_commit(self) -> None:
        """Really commit (psycopg's own ``commit``)."""
        psycopg.Connection.commit(self)

    def close_for_real(self) -> None:
        """Close the connection (end of the run)."""
        if not self.closed:
            psycopg.Connection.close(self)


def connect(dbapi: t.Any, cargs: t.Sequence[t.Any], cparams: dict[str, t.Any]) -> PinnedConnection:
    """Open a shared connection as SQLAlchemy's psycopg dialect would.

    :param dbapi: the dialect's DBAPI module (``psycopg``).
    :param cargs: the dialect's connection arguments.
    :param cparams: the dialect's connection keyword arguments.
    """
    return t.cast(PsycopgConnection, PsycopgConnection.connect(*cargs, **cparams))
