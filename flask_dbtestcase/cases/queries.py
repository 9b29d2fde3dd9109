"""Capturing and counting the SQL statements a test issues.

Statements are taken from SQLAlchemy's ``before_cursor_execute`` event on
every engine on the app's databases, so they span test-client requests (each of which
has its own app context, where Flask-SQLAlchemy's own recorder would lose
them). The savepoint plumbing of :mod:`.isolation` never goes through that
event, so it is never counted; a ``begin_nested()`` in the test is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import typing as t
import unittest

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from ..databases.urls import database_key

__all__ = [
    "CapturedQuery",
    "QueryAssertions",
    "QueryLog",
    "capture_queries",
    "num_queries_message",
    "row_count_failure",
]


@dataclasses.dataclass
class CapturedQuery:
    """Hold one statement as the application sent it, with its parameters."""

    statement: str
    parameters: t.Any

    def __str__(self) -> str:
        return self.statement


class QueryLog(list[CapturedQuery]):
    """Collect the statements captured so far: a list of :class:`CapturedQuery`."""

    def format(self) -> str:
        """Return the statements as a numbered list, one a line."""
        return "\n".join(f"{n}. {q.statement}" for n, q in enumerate(self, start=1))


@contextlib.contextmanager
def capture_queries(databases: t.Iterable[Engine | sa.URL]) -> t.Iterator[QueryLog]:
    """Record every statement sent to ``databases`` while the block runs.

    Whichever engine sends it: the app's engines, those of a second
    Flask-SQLAlchemy instance, or one the app makes at request time.

    :param databases: the databases to listen to (or engines on them).
    """
    log = QueryLog()
    keys = {database_key(t.cast(sa.URL, getattr(target, "url", target))) for target in databases}

    def record(
        conn: t.Any,
        cursor: t.Any,
        statement: str,
        parameters: t.Any,
        context: t.Any,
        executemany: bool,
    ) -> None:
        if database_key(conn.engine.url) in keys:
            log.append(CapturedQuery(statement, parameters))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield log
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def num_queries_message(log: QueryLog, expected: int) -> str:
    """Return Django's failure message for ``assertNumQueries``.

    :param log: the statements captured.
    :param expected: the number of statements expected.
    """
    return (
        f"{len(log)} queries executed, {expected} expected\nCaptured queries were:\n{log.format()}"
    )


def row_count_failure(
    session: t.Any, model_or_table: t.Any, count: int, filter_by: t.Mapping[str, t.Any]
) -> str | None:
    """Say how a table's row count differs from ``count``; None when it does not.

    :param session: the session to count with.
    :param model_or_table: a model class or a table.
    :param count: the number of rows expected.
    :param filter_by: column values the rows must have.
    """
    stmt = sa.select(sa.func.count()).select_from(model_or_table)
    if filter_by:
        stmt = stmt.filter_by(**filter_by)
    actual = session.execute(stmt).scalar_one()
    if actual == count:
        return None
    name = getattr(model_or_table, "__name__", None) or getattr(
        model_or_table, "name", model_or_table
    )
    where = f" matching {dict(filter_by)}" if filter_by else ""
    return f"{name} has {actual} rows{where}, expected {count}"


class QueryAssertions(unittest.TestCase):
    """``assertNumQueries``, on top of a test case's ``captureQueries``."""

    def captureQueries(self) -> t.ContextManager[QueryLog]:
        """Yield the list of statements the block sends (the test case provides it)."""
        raise NotImplementedError

    def assertNumQueries(
        self, num: int, func: t.Callable[..., t.Any] | None = None, *args: t.Any, **kwargs: t.Any
    ) -> t.Any:
        """Assert the block (or ``func(*args, **kwargs)``) sends exactly ``num`` statements.

        Without ``func``, return a context manager for a ``with`` block.

        :param num: the number of statements expected.
        :param func: called with ``args`` and ``kwargs``; its result is returned.
        """
        context = self._num_queries(num)
        if func is None:
            return context
        with context:
            return func(*args, **kwargs)

    @contextlib.contextmanager
    def _num_queries(self, num: int) -> t.Iterator[QueryLog]:
        with self.captureQueries() as log:
            yield log
        if len(log) != num:
            self.fail(num_queries_message(log, num))
