"""The cursors of the psycopg (3) adapter: the pending plumbing goes with each statement.

psycopg 3 differs from psycopg2 in two ways that matter to a cursor here:

- It binds parameters on the server: a statement with parameters goes out
  with the extended protocol, which refuses several statements in one
  query. So the pending plumbing is prepended only to a statement without
  parameters (a simple query, as psycopg2 sends everything); before one with
  parameters it is sent on its own, one round trip earlier. (Pipeline mode
  could send both in one round trip, but measured here it costs more Python
  time than the round trip it saves: see bench/RESULTS.md.)
- Its cursors keep every result of a multi-statement query and show the
  first: after a prefixed statement the cursor is moved past the plumbing's
  results to the statement's own.

A cursor reaches the connection's savepoint stack through its connection, a
:class:`~.psycopg_driver.PsycopgConnection` (seen here as the
:class:`~.pinned.PinnedConnection` it is).
"""

from __future__ import annotations

import functools
import typing as t

import psycopg
from psycopg import pq, sql

from .pinned import PinnedConnection

__all__ = ["PsycopgCursor", "PsycopgServerCursor", "pinned_cursor_class"]


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


class PsycopgCursor(psycopg.Cursor[t.Any]):
    """A cursor that sends the connection's pending plumbing before its statement."""

    def execute(self, query: t.Any, params: t.Any = None, **options: t.Any) -> t.Any:
        """Run a statement, after the pending plumbing (prepended when it can be).

        The plumbing rides only on a simple query that ran before (so it
        parses: a syntax error would take the plumbing down with it).

        :param query: the statement.
        :param params: its parameters.
        :param options: as for psycopg's ``execute`` (``prepare``, ``binary``).
        """
        conn = t.cast(PinnedConnection, self.connection)
        stack = conn.savepoints
        if isinstance(query, sql.Composable):
            query = query.as_string(self)
        if conn.autocommit_statements.asked:
            query = conn.autocommit_statements.statement(query)
        with stack.sending():
            statements = stack.take_plumbing(query)
            try:
                if not statements:
                    super().execute(query, params, **options)
                elif not (
                    stack.known_statement(query) and _prefixable(self, query, params, **options)
                ):
                    stack.send_taken(statements)
                    super().execute(query, params, **options)
                else:
                    prefix = ";\n".join(statements) + ";\n"
                    sent = prefix.encode() + query if isinstance(query, bytes) else prefix + query
                    super().execute(sent, params, **options)
                    for _ in statements:  # show the statement's own result, as psycopg2 does
                        self.nextset()
            except Exception as exc:
                stack.statement_failed(exc)
                refused = conn.autocommit_statements.failure(exc, query)
                if refused is not None:
                    raise stack.turns.refuse(refused) from None
                raise
            stack.statement_done(query)
            return self

    def executemany(self, query: t.Any, params_seq: t.Any, **options: t.Any) -> None:
        """Send the pending plumbing, then run a statement for each set of parameters.

        :param query: the statement.
        :param params_seq: its sets of parameters.
        :param options: as for psycopg's ``executemany``.
        """
        stack = t.cast(PinnedConnection, self.connection).savepoints
        with stack.sending():
            stack.flush_plumbing(query)
            return super().executemany(query, params_seq, **options)

    def copy(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Send the pending plumbing, then start a ``COPY``.

        :param args: as for psycopg's ``copy``.
        :param kwargs: as for psycopg's ``copy``.
        """
        t.cast(PinnedConnection, self.connection).savepoints.flush_plumbing()
        return super().copy(*args, **kwargs)

    def stream(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        """Send the pending plumbing, then stream a query's rows.

        :param args: as for psycopg's ``stream``.
        :param kwargs: as for psycopg's ``stream``.
        """
        t.cast(PinnedConnection, self.connection).savepoints.flush_plumbing()
        return super().stream(*args, **kwargs)


class PsycopgServerCursor(psycopg.ServerCursor[t.Any]):
    """A named (server-side) cursor: the plumbing goes before its ``DECLARE``."""

    def execute(self, query: t.Any, params: t.Any = None, **options: t.Any) -> t.Any:
        """Send the pending plumbing, then declare the cursor.

        :param query: the statement.
        :param params: its parameters.
        :param options: as for psycopg's ``ServerCursor.execute``.
        """
        stack = t.cast(PinnedConnection, self.connection).savepoints
        with stack.sending():
            stack.flush_plumbing(query)
            return super().execute(query, params, **options)


@functools.cache
def pinned_cursor_class(cls: type[psycopg.Cursor[t.Any]]) -> type[PsycopgCursor]:
    """Return the pinned version of an app's own ``cursor_factory`` (a Cursor subclass).

    :param cls: the app's cursor class.
    """
    if issubclass(cls, PsycopgCursor):
        return cls
    return t.cast(type[PsycopgCursor], type(f"Pinned{cls.__name__}", (PsycopgCursor, cls), {}))
