"""Naming the test whose write got past the shared connection.

The database side is :mod:`flask_dbtestcase.databases.watch`: a trigger on
each app table logs a write made on any connection but a pinned one. The
savepoint stack of a pinned connection whose database has the watch carries
a :class:`ConnectionWatch` (:func:`.pinned.arm`). At the end of a test that
sent a statement, the check rides in the same round trip as the test's
``ROLLBACK TO`` (:meth:`ConnectionWatch.statements`); if the log holds a
write, the check fails with its own SQLSTATE and
:meth:`ConnectionWatch.found` turns that into the test's IsolationError.

A test that sent nothing sends nothing at its end either: it is noted as
unchecked, and the next check covers it — the next test that touches the
database, or the end of its class when the class sent a statement
(:meth:`ConnectionWatch.pending`; a class that sent none leaves it to the
next class that does). A write found there names every unchecked stretch it
may have come from. A write made in the last classes of a run that send
nothing to the database is not checked in that run; on a kept database the
next run's first check reports it.
"""

from __future__ import annotations

import json
import typing as t

from ..databases.watch import CHECK_STATEMENT, ESCAPE_SQLSTATE
from .statements import sqlstate

__all__ = ["ConnectionWatch", "escaped_write_message"]

#: What the first check of a connection covers too: a kept database's log survives its run.
_BEFORE = "what ran before this process's first test class (an earlier run, on a kept database)"

#: How many of the unchecked stretches a message names.
_SHOWN = 5

_OPERATIONS = {"INSERT": "INSERT into", "UPDATE": "UPDATE of", "DELETE": "DELETE from"}


def _name(what: object) -> str:
    """A test's id, or what a label says."""
    test_id = getattr(what, "id", None)
    return str(test_id()) if callable(test_id) else str(what)


def _writes(payload: str) -> tuple[str, int]:
    """Return the writes the check reported, in words, and the number of transactions."""
    try:
        data = json.loads(payload)
        writes = sorted((str(op), str(relation)) for op, relation in data["writes"])
        transactions = int(data["transactions"])
    except (ValueError, KeyError, TypeError):
        return payload, 1
    words = [f"{_OPERATIONS.get(op, op + ' of')} {relation}" for op, relation in writes]
    return ", ".join(words), transactions


def escaped_write_message(
    where: str | None, payload: str, earlier: t.Sequence[str], more: int = 0
) -> str:
    """Describe writes committed past the shared connection, for an IsolationError.

    :param where: the test that was running when the check found them (None:
        the check ran at a class's end, after tests that sent no statement).
    :param payload: what the check reported (its JSON).
    :param earlier: what ran unchecked before it (tests that sent no statement).
    :param more: how many more ran unchecked, not named in ``earlier``.
    """
    writes, transactions = _writes(payload)
    shown = ", ".join(earlier[:_SHOWN])
    if len(earlier) + more > _SHOWN:
        shown += f" and {len(earlier) + more - _SHOWN} more"
    committed = "it was" if transactions == 1 else f"they were, in {transactions} transactions,"
    also = ""
    if where is None:
        where = f"Something that sent no statement to the test database ({shown})"
    elif earlier:
        also = (
            " It may also come from what ran before without a check (sending no "
            f"statement to the test database): {shown}."
        )
    return (
        f"{where} wrote to the test database through a connection flask-dbtestcase "
        "did not pin (the app's own create_engine, a second app built inside the "
        f"test, or a raw psycopg2/psycopg connection), and {committed} really "
        f"committed: {writes}. The tests after it would have seen those rows; "
        "flask-dbtestcase emptied the app's tables and rebuilt the class's data."
        f"{also} Do the work through the app's db (db.session, db.engine), which the "
        "test transaction undoes, or make the class a FlaskDBTransactionTestCase if "
        "the code must commit through connections of its own."
    )


class ConnectionWatch:
    """The check a pinned connection sends at a test's end, and what it ran unchecked."""

    def __init__(self) -> None:
        #: What ran since the last check without one (tests that sent no statement).
        self.unchecked: list[str] = [_BEFORE]
        #: How many more ran unchecked, past the first few (not named).
        self.more = 0

    def skipped(self, what: object) -> None:
        """Note that ``what`` ended without a check (it sent nothing).

        :param what: a test, or a label such as a class's set-up.
        """
        if len(self.unchecked) < _SHOWN:
            self.unchecked.append(_name(what))
        else:
            self.more += 1

    @property
    def pending(self) -> bool:
        """Whether something ran since the last check without one."""
        return bool(self.unchecked)

    def statements(self) -> list[str]:
        """Return the check, to send last with the test's ``ROLLBACK TO``."""
        return [CHECK_STATEMENT]

    def found(self, exc: BaseException, where: object) -> str | None:
        """Return the IsolationError message if ``exc`` is the check's finding, else None.

        Whatever ran unchecked is covered by the check either way.

        :param exc: what the round trip carrying the check raised.
        :param where: the test that ended (None: the check ran at its class's end).
        """
        if sqlstate(exc) != ESCAPE_SQLSTATE:
            return None
        earlier, more = self.unchecked, self.more
        self.checked()
        diag = getattr(exc, "diag", None)
        payload = getattr(diag, "message_primary", None) or str(exc)
        name = None if where is None else _name(where)
        return escaped_write_message(name, payload, earlier, more)

    def checked(self) -> None:
        """Note that a check ran: what ran unchecked is covered."""
        self.unchecked = []
        self.more = 0
