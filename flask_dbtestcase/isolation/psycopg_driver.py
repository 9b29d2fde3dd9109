"""The psycopg (3) adapter of the savepoint engine.

psycopg 3 differs from psycopg2 in three ways that matter here:

- It binds parameters on the server: a statement with parameters goes out
  with the extended protocol, which refuses several statements in one
  query. So the pending plumbing is prepended only to a statement without
  parameters (a simple query, as psycopg2 sends everything); before one with
  parameters it is sent on its own, one round trip earlier. (Pipeline mode
  could send both in one round trip, but measured here it costs more Python
  time than the round trip it saves: see bench/RESULTS.md.)
- It prepares a statement on the server by itself once it ran
  ``prepare_threshold`` times, and a prepared statement outlives a
  ``ROLLBACK TO``. The plumbing stays out of that cache: it is sent through
  the libpq connection (``pgconn.exec_``), never counted nor prepared. A
  statement prepared *during* a test may depend on what the test changed
  (``ALTER TABLE`` in a test, then "cached plan must not change result
  type" in the next one), so when a test prepared any, its end has psycopg
  forget them all and deallocate them itself (``PrepareManager.clear``,
  what psycopg's own ``rollback()`` does): never a ``DEALLOCATE`` behind
  psycopg's back, which would break its cache. A statement carrying a
  prefix runs unprepared that once, as psycopg runs every multi-statement
  query.
- Its cursors keep every result of a multi-statement query and show the
  first: after a prefixed statement the cursor is moved past the plumbing's
  results to the statement's own.

The connection is a :class:`psycopg.Connection` subclass, opened through its
``connect`` classmethod; its ``cursor_factory`` and ``server_cursor_factory``
are the pinned cursors.
"""

from __future__ import annotations

import functools
import typing as t

import psycopg
from psycopg import pq, sql

from .pinned import PinnedConnection, PinnedCursor, TransactionStatus
from .statements import lost_connection_error

__all__ = ["PsycopgConnection", "PsycopgCursor", "PsycopgServerCursor", "connect"]


def _prefixable(
    cursor: psycopg.Cursor[t.Any], query: t.Any, params: t.Any, **options: t.Any
) -> bool:
    """Tell whether ``query`` goes out as a simple query, which may carry the plumbing."""
    if options.get("binary") or options.get("prepare") or cursor.format == pq.Format.BINARY:
        return False
    if cursor.connection.pgconn.pipeline_status != pq.PipelineStatus.OFF:
        return False
    if params is not None and not isinstance(cursor, psycopg.ClientCursor):
        return False
    return isinstance(query, (str, bytes, sql.Composable))


class PsycopgCursor(PinnedCursor, psycopg.Cursor[t.Any]):
    """A cursor that sends the connection's pending plumbing before its statement."""

    connection: PsycopgConnection

    def execute(self, query: t.Any, params: t.Any = None, **options: t.Any) -> t.Any:
        """Run a statement, after the pending plumbing (prepended when it can be).

        The plumbing rides only on a simple query that ran before (so it
        parses: a syntax error would take the plumbing down with it).

        :param query: the statement.
        :param params: its parameters.
        :param options: as for psycopg's ``execute`` (``prepare``, ``binary``).
        """
        conn = self.connection
        if isinstance(query, sql.Composable):
            query = query.as_string(self)
        with conn.sending():
            statements = conn.take_plumbing(query)
            try:
                if not statements:
                    super().execute(query, params, **options)
                elif not (
                    conn.known_statement(query) and _prefixable(self, query, params, **options)
                ):
                    conn.send_plumbing(statements)
                    super().execute(query, params, **options)
                else:
                    prefix = ";\n".join(statements) + ";\n"
                    sent = prefix.encode() + query if isinstance(query, bytes) else prefix + query
                    super().execute(sent, params, **options)
                    for _ in statements:  # show the statement's own result, as psycopg2 does
                        self.nextset()
            except Exception as exc:
                conn.statement_failed(exc)
                raise
            conn.statement_done(query)
            return self

    def executemany(self, query: t.Any, params_seq: t.Any, **options: t.Any) -> None:
        """Send the pending plumbing, then run a statement for each set of parameters.

        :param query: the statement.
        :param params_seq: its sets of parameters.
        :param options: as for psycopg's ``executemany``.
        """
        with self.connection.sending():
            self.connection.flush_plumbing(query)
            return super().executemany(query, params_seq, **options)

    def copy(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Send the pending plumbing, then start a ``COPY``.

        :param args: as for psycopg's ``copy``.
        :param kwargs: as for psycopg's ``copy``.
        """
        self.connection.flush_plumbing()
        return super().copy(*args, **kwargs)

    def stream(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Send the pending plumbing, then stream a query's rows.

        :param args: as for psycopg's ``stream``.
        :param kwargs: as for psycopg's ``stream``.
        """
        self.connection.flush_plumbing()
        return super().stream(*args, **kwargs)


class PsycopgServerCursor(PinnedCursor, psycopg.ServerCursor[t.Any]):
    """A named (server-side) cursor: the plumbing goes before its ``DECLARE``."""

    connection: PsycopgConnection

    def execute(self, query: t.Any, params: t.Any = None, **options: t.Any) -> t.Any:
        """Send the pending plumbing, then declare the cursor.

        :param query: the statement.
        :param params: its parameters.
        :param options: as for psycopg's ``ServerCursor.execute``.
        """
        with self.connection.sending():
            self.connection.flush_plumbing(query)
            return super().execute(query, params, **options)


@functools.cache
def _pinned_cursor_class(cls: type[psycopg.Cursor[t.Any]]) -> type[PsycopgCursor]:
    """Return the pinned version of an app's own ``cursor_factory`` (a Cursor subclass)."""
    if issubclass(cls, PsycopgCursor):
        return cls
    return t.cast(type[PsycopgCursor], type(f"Pinned{cls.__name__}", (PsycopgCursor, cls), {}))


class PsycopgConnection(PinnedConnection, psycopg.Connection[t.Any]):
    """The shared connection, on psycopg (3).

    :param args: as for :class:`psycopg.Connection`.
    :param kwargs: as for :class:`psycopg.Connection`.
    """

    driver = "psycopg"
    driver_error = psycopg.Error

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_factory = PsycopgCursor
        self.server_cursor_factory = PsycopgServerCursor
        self._notice_handlers_added: list[t.Any] = []
        self._prepared_before: set[bytes] = set()
        self.init_savepoints()

    @classmethod
    def connect(cls, conninfo: str = "", **kwargs: t.Any) -> t.Any:
        """Open the shared connection: never in autocommit, with pinned cursors.

        :param conninfo: as for :meth:`psycopg.Connection.connect`.
        :param kwargs: as for :meth:`psycopg.Connection.connect`; an
            ``autocommit`` is dropped, a ``cursor_factory`` gets pinned.
        """
        kwargs.pop("autocommit", None)
        factory = kwargs.pop("cursor_factory", None)
        conn = super().connect(conninfo, **kwargs)
        if factory is not None:
            conn.cursor_factory = _pinned_cursor_class(factory)
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
        self.flush_plumbing()
        return super().transaction(*args, **kwargs)

    def pipeline(self) -> t.Any:
        """Send the pending plumbing, then enter pipeline mode."""
        self.flush_plumbing()
        return super().pipeline()

    # Transaction characteristics belong to the test transaction: ignored.

    @property
    def autocommit(self) -> bool:
        """Always False: the connection stays inside the test transaction."""
        return False

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        """Ignored: autocommit would make the app's writes permanent."""

    def set_autocommit(self, value: bool) -> None:
        """Ignored, as :attr:`autocommit`.

        :param value: ignored.
        """

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

    # -- the adapter's part of the engine --------------------------------

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

    def real_commit(self) -> None:
        """Really commit (psycopg's own ``commit``)."""
        psycopg.Connection.commit(self)

    def close_for_real(self) -> None:
        """Close the connection (end of the run)."""
        if not self.closed:
            psycopg.Connection.close(self)


def connect(dbapi: t.Any, cargs: t.Sequence[t.Any], cparams: dict[str, t.Any]) -> PsycopgConnection:
    """Open a shared connection as SQLAlchemy's psycopg dialect would.

    :param dbapi: the dialect's DBAPI module (``psycopg``).
    :param cargs: the dialect's connection arguments.
    :param cparams: the dialect's connection keyword arguments.
    """
    return t.cast(PsycopgConnection, PsycopgConnection.connect(*cargs, **cparams))
