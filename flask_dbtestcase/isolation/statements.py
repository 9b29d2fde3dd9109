"""What the pinned cursor reads in the statements it sends, and what it says about them.

Every statement goes through :func:`scan` before it is sent. The scan is a
few substring tests on the lowered text (well under a microsecond for a
typical ORM statement); the regular expressions run only when one of them
hits. It finds:

- raw transaction control at the start of a statement (``COMMIT``, ``END``,
  ``ROLLBACK``, ``ABORT``, ``PREPARE TRANSACTION``, a ``RELEASE`` or
  ``ROLLBACK TO`` of the framework's own savepoints), refused before it
  reaches the server: it would end the test transaction;
- the same further into a multi-statement text, which cannot be refused
  without parsing SQL: remembered, so that the end of the test can name it
  if the test transaction turns out to be gone;
- session state that outlives ``ROLLBACK TO`` (advisory locks, ``PREPARE``):
  the statements that reset it, sent with the test's ``ROLLBACK TO``.

A ``SET``, ``set_config``, a temporary table or a ``LISTEN`` needs nothing:
PostgreSQL undoes them with the savepoint they ran in.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from ..errors import IsolationError

__all__ = [
    "DEALLOCATE_USER_STATEMENTS",
    "PLUMBING_SQLSTATES",
    "UNLOCK_ADVISORY",
    "Scan",
    "escape_message",
    "lost_connection_error",
    "plumbing_error",
    "scan",
    "sqlstate",
]

#: Releases the session-level advisory locks a test took.
UNLOCK_ADVISORY = "SELECT pg_advisory_unlock_all()"
#: Deallocates the statements a test prepared with SQL ``PREPARE``; the
#: driver's own (psycopg 3's ``_pg3_*``, prepared through the protocol) stay.
DEALLOCATE_USER_STATEMENTS = (
    "DO $fdt$DECLARE r record; BEGIN FOR r IN SELECT name FROM pg_prepared_statements"
    " WHERE from_sql AND name NOT LIKE '\\_pg3\\_%' LOOP"
    " EXECUTE format('DEALLOCATE %I', r.name); END LOOP; END$fdt$"
)

#: SQLSTATEs of a savepoint or transaction the plumbing needed that is gone:
#: invalid_savepoint_specification, no_active_sql_transaction.
PLUMBING_SQLSTATES = frozenset({"3B001", "25P01"})

_CONTROL_WORDS = ("commit", "end", "abort", "rollback", "release", "prepare")
# A statement that ends the transaction, or destroys one of the framework's
# savepoints; group 1 is the statement, as written.
_CONTROL_STATEMENT = (
    r"((?:commit|end|abort|prepare\s+transaction)\b[^;]*"
    r"|rollback\b(?!\s+(?:work\s+|transaction\s+)?to\b)[^;]*"
    r"|(?:rollback\s+(?:work\s+|transaction\s+)?to|release)\s+(?:savepoint\s+)?\"?fdt_[^;]*)"
)
_CONTROL = re.compile(r"\s*" + _CONTROL_STATEMENT, re.IGNORECASE)
_LATER_CONTROL = re.compile(r";\s*" + _CONTROL_STATEMENT, re.IGNORECASE)

_FIX = (
    "Use the session or connection API instead (db.session.commit(), "
    "db.session.rollback(), connection.commit(), begin_nested()), which "
    "flask-dbtestcase turns into savepoints, or make the class a "
    "FlaskDBTransactionTestCase if the code must really commit."
)


@dataclasses.dataclass
class Scan:
    """What :func:`scan` found in one statement."""

    #: The session-state resets the statement calls for (sent at the test's end).
    resets: tuple[str, ...] = ()
    #: Transaction control further into a multi-statement text.
    suspect: str | None = None


_NOTHING = Scan()


def scan(query: t.Any) -> Scan:
    """Read one statement: raise for raw transaction control, report what to reset.

    :param query: the statement, as the cursor got it (``str`` or ``bytes``;
        anything else is not read).
    """
    if isinstance(query, bytes):
        query = query.decode(errors="replace")
    elif not isinstance(query, str):
        return _NOTHING
    lowered = query.lower()
    resets: tuple[str, ...] = ()
    if "advisory" in lowered:
        resets += (UNLOCK_ADVISORY,)
    if "prepare" in lowered:
        resets += (DEALLOCATE_USER_STATEMENTS,)
    if not lowered.lstrip().startswith(_CONTROL_WORDS) and ";" not in lowered:
        return Scan(resets) if resets else _NOTHING
    match = _CONTROL.match(query)
    if match:
        statement = " ".join(match.group(1).split())
        raise IsolationError(
            f"The test ran {statement!r} on the test connection. That would end "
            "the transaction (or destroy the savepoint) that keeps the test "
            "isolated, so its writes would stay in the test database for the "
            f"tests after it; flask-dbtestcase refused it. {_FIX}"
        )
    later = _LATER_CONTROL.search(query) if ";" in lowered else None
    suspect = " ".join(later.group(1).split()) if later else None
    return Scan(resets, suspect) if resets or suspect else _NOTHING


def sqlstate(exc: BaseException) -> str | None:
    """Return the SQLSTATE of a driver error, or None if the server never saw it.

    :param exc: an exception raised while a statement ran.
    """
    code = getattr(exc, "pgcode", None) or getattr(exc, "sqlstate", None)
    return code if isinstance(code, str) else None


def escape_message(test: object, suspect: str | None, gone: str) -> str:
    """Describe a test that ended its own test transaction, for an IsolationError.

    :param test: the test (its id is named).
    :param suspect: the statement that did it, when the scan saw one.
    :param gone: what the test's end found gone ("ended the transaction").
    """
    name = getattr(test, "id", lambda: repr(test))()
    what = f"ran {suspect!r}, which" if suspect else "used raw transaction control that"
    return (
        f"{name} {what} {gone} that keeps the test isolated "
        "(through a multi-statement text or the driver's connection itself, "
        "past flask-dbtestcase), so what it wrote may have been really "
        "committed to the test database. flask-dbtestcase rolled back, "
        "emptied the app's tables and rebuilt the class's data for the next "
        f"tests. {_FIX}"
    )


def plumbing_error(exc: BaseException) -> IsolationError:
    """Turn the failure of the framework's own savepoint plumbing into an IsolationError.

    :param exc: the driver's error (a savepoint or the transaction is gone).
    """
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return IsolationError(
        "The test ended or changed the transaction that keeps it isolated (a "
        "raw COMMIT, ROLLBACK or RELEASE SAVEPOINT, through a multi-statement "
        "text or the driver's connection itself), so flask-dbtestcase's "
        f"savepoints are gone (PostgreSQL: {detail}). What the test wrote may "
        "have been really committed; flask-dbtestcase rolls back, empties the "
        f"app's tables and rebuilds the class's data after this test. {_FIX}"
    )


def lost_connection_error() -> IsolationError:
    """The error for a statement sent on the test connection after it was closed."""
    return IsolationError(
        "The test connection was closed during this test (the test killed its "
        "own backend with pg_terminate_backend, or closed the driver's "
        "connection), and a statement was sent on it afterwards. Roll back "
        "(db.session.rollback(), or close the SQLAlchemy connection) to get a "
        "new one, or open the connection after killing the backend. The class's "
        "data is rebuilt for the next test."
    )
