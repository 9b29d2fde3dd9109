"""Statements PostgreSQL runs only outside a transaction block, sent under AUTOCOMMIT.

Production code runs ``VACUUM``, ``CREATE INDEX CONCURRENTLY`` and the like
on an AUTOCOMMIT connection. On the shared connection every statement runs
inside the test transaction, where PostgreSQL refuses them. Once the app
asked the driver's connection for autocommit (SQLAlchemy's
``isolation_level="AUTOCOMMIT"`` does; the connection itself stays in the
test transaction), the pinned cursor hands each statement to
:meth:`AutocommitStatements.statement` first:

- a statement whose effect fits in a transaction runs without the word that
  kept it out of one, and is undone with the test: ``CREATE INDEX
  CONCURRENTLY`` as ``CREATE INDEX``, ``DROP INDEX CONCURRENTLY``,
  ``REINDEX ... CONCURRENTLY``, ``ALTER TABLE ... DETACH PARTITION ...
  CONCURRENTLY`` likewise;
- one that changes no data is a no-op, said once per run on stderr:
  ``VACUUM`` (``VACUUM ANALYZE`` runs as ``ANALYZE``, which a transaction
  allows), ``CLUSTER`` of every table, ``REINDEX SCHEMA``, ``DATABASE`` or
  ``SYSTEM``;
- ``SET TRANSACTION`` and ``SET LOCAL`` do nothing, as outside a
  transaction block in production (where PostgreSQL only warns);
- anything else PostgreSQL refuses inside a transaction block (``CREATE
  DATABASE``, ``ALTER SYSTEM``, ``CREATE TABLESPACE``, ...) reaches the
  server, which refuses it before doing anything, in the statement's own
  savepoint; :meth:`AutocommitStatements.failure` turns that refusal into an
  IsolationError that says what to do.

An enum value added with ``ALTER TYPE ... ADD VALUE`` under AUTOCOMMIT is
added inside the test transaction, and PostgreSQL lets no transaction use
a value it added to an older type: that error too becomes an IsolationError.

Only a statement that starts with one of a few words (after whitespace and
comments) is read past its first characters, and only under AUTOCOMMIT. A
text of several statements is sent as it is (PostgreSQL refuses these
there in production too). What the app asked is the driver connection's,
which every SQLAlchemy connection on the database shares: while one of them
is in AUTOCOMMIT, the statements of the others are read as well.
"""

from __future__ import annotations

import re
import sys
import typing as t

from ..errors import IsolationError
from .statements import sqlstate

__all__ = ["NO_OP", "AutocommitStatements", "announced", "outside_block"]

#: What a statement with no logical effect becomes: it runs, and does nothing.
NO_OP = "DO $fdt$BEGIN END$fdt$"

#: SQLSTATE active_sql_transaction: "... cannot run inside a transaction block".
_IN_BLOCK = "25001"
#: SQLSTATE unsafe_new_enum_value_usage.
_NEW_ENUM_VALUE = "55P04"

_FLAGS = re.IGNORECASE | re.DOTALL
_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
_WORDS = ("vacuum", "create", "drop", "reindex", "alter", "cluster", "set")
_END = r"\s*;?\s*$"

_CREATE_INDEX = re.compile(r"(create\s+(?:unique\s+)?index\s+)concurrently\b\s*", _FLAGS)
_DROP_INDEX = re.compile(r"(drop\s+index\s+)concurrently\b\s*", _FLAGS)
_DETACH = re.compile(
    r"(alter\s+table\b.*\bdetach\s+partition\s+(?:\"[^\"]*\"|[\w$]+)(?:\.(?:\"[^\"]*\"|[\w$]+))?)"
    r"\s+concurrently\b",
    _FLAGS,
)
_REINDEX = re.compile(
    r"reindex\s*(?:\((?P<options>[^)]*)\)\s*)?(?P<kind>index|table)\s+(?P<word>concurrently\b\s*)?"
    r"(?P<rest>.*)",
    _FLAGS,
)
_REINDEX_MANY = re.compile(r"reindex\s*(?:\([^)]*\)\s*)?(?:schema|database|system)\b", _FLAGS)
_CLUSTER_ALL = re.compile(r"cluster\s*(?:verbose\b|\([^)]*\))?" + _END, _FLAGS)
_VACUUM = re.compile(
    r"vacuum\b\s*(?:\((?P<options>[^)]*)\)|(?P<words>(?:(?:full|freeze|verbose|analy[sz]e)\b\s*)*))"
    r"(?P<tables>.*)",
    _FLAGS,
)
# Outside a transaction block PostgreSQL only warns that they do nothing.
_SET_IN_BLOCK = re.compile(r"set\s+(?:local\b|transaction\s+(?!snapshot\b))", _FLAGS)
_ADD_VALUE = re.compile(r"alter\s+type\b.*\badd\s+value\b", _FLAGS)
_FALSE = ("false", "off", "0")

#: The no-ops already announced in this process (once per run).
announced: set[str] = set()

_NOTICES = {
    "VACUUM": (
        "VACUUM ran as a no-op (VACUUM ANALYZE as ANALYZE): the test runs inside "
        "a transaction, where PostgreSQL cannot vacuum, and vacuuming changes no data"
    ),
    "CLUSTER": (
        "CLUSTER of every table ran as a no-op: the test runs inside a transaction, "
        "where PostgreSQL cannot cluster them all, and clustering changes no data"
    ),
    "REINDEX": (
        "REINDEX SCHEMA, DATABASE or SYSTEM ran as a no-op: the test runs inside a "
        "transaction, where PostgreSQL cannot reindex that much, and reindexing "
        "changes no data (REINDEX TABLE and REINDEX INDEX do run)"
    ),
}


def _tell(kind: str) -> None:
    """Say once per run that ``kind`` ran as a no-op."""
    if kind not in announced:
        announced.add(kind)
        sys.stderr.write(f"flask-dbtestcase: {_NOTICES[kind]}. (Said once per run.)\n")


def _option_on(options: str, name: tuple[str, ...]) -> bool:
    """Tell whether a parenthesized option list turns one of ``name`` on (``ANALYZE true``)."""
    for option in options.split(","):
        words = option.lower().split()
        if words and words[0] in name and (len(words) == 1 or words[1] not in _FALSE):
            return True
    return False


def _without_option(options: str, name: str) -> str:
    """Return a parenthesized option list without ``name``, in parentheses (or nothing)."""
    kept = [o.strip() for o in options.split(",") if o.lower().split()[:1] != [name] and o.strip()]
    return f"({', '.join(kept)}) " if kept else ""


def _vacuum(match: re.Match[str]) -> str:
    """What a ``VACUUM`` becomes: ``ANALYZE`` of its tables if it analyzes, else a no-op."""
    options = match.group("options")
    words = (match.group("words") or "").lower()
    analyzes = _option_on(options, ("analyze", "analyse")) if options else "analy" in words
    _tell("VACUUM")
    if not analyzes:
        return NO_OP
    tables = match.group("tables").strip().rstrip(";").strip()
    return f"ANALYZE {tables}" if tables else "ANALYZE"


def _reindex(match: re.Match[str]) -> str | None:
    """What ``REINDEX INDEX|TABLE ... CONCURRENTLY`` becomes, or None if it is not concurrent."""
    options = match.group("options")
    concurrent_option = options is not None and _option_on(options, ("concurrently",))
    if not (match.group("word") or concurrent_option):
        return None
    kept = _without_option(options, "concurrently") if options is not None else ""
    return f"REINDEX {kept}{match.group('kind')} {match.group('rest')}"


def _drop_word(pattern: re.Pattern[str], statement: str) -> str | None:
    """Return ``statement`` without what ``pattern`` matches past its group 1 (None: no match)."""
    match = pattern.match(statement)
    if match is None:
        return None
    return statement[: match.end(1)] + statement[match.end() :]


def outside_block(statement: str) -> str | None:
    """Return what to send for a statement PostgreSQL runs only outside a transaction block.

    None: send ``statement`` as it is (anything else, or a statement that a
    transaction allows).

    :param statement: the statement's text, leading whitespace and comments removed.
    """
    word = statement[:7].lower()
    if word.startswith("create"):
        return _drop_word(_CREATE_INDEX, statement)
    if word.startswith("drop"):
        return _drop_word(_DROP_INDEX, statement)
    if word.startswith("alter"):
        return _drop_word(_DETACH, statement)
    if word.startswith("vacuum"):
        vacuum = _VACUUM.match(statement)
        return _vacuum(vacuum) if vacuum else None
    if word.startswith("reindex"):
        if _REINDEX_MANY.match(statement):
            _tell("REINDEX")
            return NO_OP
        reindex = _REINDEX.match(statement)
        return _reindex(reindex) if reindex else None
    if word.startswith("cluster") and _CLUSTER_ALL.match(statement):
        _tell("CLUSTER")
        return NO_OP
    if word.startswith("set") and _SET_IN_BLOCK.match(statement):
        return NO_OP
    return None


def _first_line(exc: BaseException) -> str:
    """The first line of a driver error's message."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _named(query: t.Any) -> str:
    """The statement, on one line, shortened for a message."""
    if isinstance(query, bytes):
        query = query.decode(errors="replace")
    text = " ".join(str(query).split())
    return text if len(text) <= 120 else text[:117] + "..."


class AutocommitStatements:
    """What the app asked of one shared connection's autocommit, and what ran under it."""

    def __init__(self) -> None:
        #: The app asked the driver's connection for autocommit (and has not switched it off).
        self.asked = False
        self._enum_value_added = False

    def statement(self, query: t.Any) -> t.Any:
        """Return the statement to send for ``query``, run under AUTOCOMMIT (see the module).

        :param query: the statement (``str`` or ``bytes``; anything else is sent as it is).
        """
        if isinstance(query, bytes):
            text = query.decode(errors="replace")
        elif isinstance(query, str):
            text = query
        else:
            return query
        head = text.lstrip()
        if head.startswith(("--", "/*")):
            leading = _LEADING.match(head)
            head = head[leading.end() :] if leading else head
        if not head[:7].lower().startswith(_WORDS):
            return query
        if ";" in head.rstrip().rstrip(";"):  # several statements: PostgreSQL's own answer
            return query
        if _ADD_VALUE.match(head):
            self._enum_value_added = True
            return query
        sent = outside_block(head)
        if sent is None:
            return query
        return sent.encode() if isinstance(query, bytes) else sent

    def failure(self, exc: BaseException, query: t.Any) -> IsolationError | None:
        """Return the IsolationError for a statement the transaction kept from running, if so.

        :param exc: what the statement raised.
        :param query: the statement.
        """
        code = sqlstate(exc)
        if code == _IN_BLOCK and self.asked:
            return IsolationError(
                f"The test ran {_named(query)!r} under AUTOCOMMIT, as production code "
                f"may; PostgreSQL runs it only outside a transaction block ({_first_line(exc)}), "
                "and every FlaskDBTestCase test runs inside the transaction that undoes "
                "it, while this statement's effect would outlive any transaction. "
                "Nothing was done. Make the class a FlaskDBTransactionTestCase, whose "
                "connections are real, or move the statement out of the test (into the "
                "schema build or a migration that runs before the tests)."
            )
        if code == _NEW_ENUM_VALUE and self._enum_value_added:
            return IsolationError(
                f"The test used an enum value added by ALTER TYPE ... ADD VALUE under "
                f"AUTOCOMMIT ({_first_line(exc)}). In production that value is committed at once; "
                "here it was added inside the test transaction, and PostgreSQL lets no "
                "transaction use a value it added to an existing enum type. Add the "
                "value in the schema (the model or a migration) before the tests, or "
                "make the class a FlaskDBTransactionTestCase, whose connections are real."
            )
        return None

    def class_ended(self) -> None:
        """Forget what ran in the class (its transaction was rolled back)."""
        self._enum_value_added = False
