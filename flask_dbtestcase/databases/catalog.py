"""What a test database holds besides rows: its relations, sequences and large objects.

The watch (:mod:`.watch`) sees rows written to the models' tables past the
test connection. What it cannot see stays in the database after the test
transaction is rolled back: a table another connection created and
committed, a sequence another connection moved with ``setval`` (sequences
are never rolled back), a large object another connection created.

Right after the schema is built, a :class:`Catalog` of the database is
taken (:func:`take_catalog`, one query) and kept in the run's marks. At a
class's end and the run's end, :func:`check_statement` asks the database,
in one query, for what differs from it, and :func:`differences` reads the
answer:

- relations (tables, views, sequences) newer than the catalog: every object
  created after it has a larger OID, so an index range scan finds them;
- large objects newer than it, the same way;
- the catalog's standalone sequences (no table's column owns them) whose
  value changed, unless the connection that asks moved them last itself. A
  table's own sequence is not compared: a test's rolled-back insert moves
  it too, which is ordinary (as in Django), and after a lost connection the
  session that moved it is gone. A sequence reset to its start is where a
  fresh database has it.

:func:`cleanup_statements` undoes what was found.
"""

from __future__ import annotations

import dataclasses
import typing as t

import sqlalchemy as sa

from .safety import check_test_database
from .urls import database_key
from .watch import WATCH_SCHEMA, Marks

__all__ = [
    "Catalog",
    "Differences",
    "built_catalog",
    "check_statement",
    "cleanup_statements",
    "differences",
    "leftovers_at_end",
    "note_catalog",
    "remove_leftovers",
    "take_catalog",
]

_FUNCTION = f"{WATCH_SCHEMA}.leftovers"
_SESSION_VALUE = f"{WATCH_SCHEMA}.session_value"

#: Creates the schema and the functions :func:`check_statement` calls (idempotent).
#: Their statements' plans are kept for the session (generic plans).
_SETUP = (
    f"CREATE SCHEMA IF NOT EXISTS {WATCH_SCHEMA};\n"
    # The session's currval of a sequence, NULL where it has not used it.
    f"CREATE OR REPLACE FUNCTION {_SESSION_VALUE}(seq regclass) RETURNS bigint "
    "LANGUAGE plpgsql VOLATILE AS $fdt$BEGIN RETURN currval(seq); "
    "EXCEPTION WHEN object_not_in_prerequisite_state THEN RETURN NULL; END$fdt$;\n"
    f"CREATE OR REPLACE FUNCTION {_FUNCTION}(threshold oid, seqs oid[], built bigint[], "
    "use_session boolean) RETURNS TABLE(name text, kind text, built_value bigint, "
    "now_value bigint) LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan "
    "AS $fdt$BEGIN "
    # New relations (not indexes, not a new table's own sequence): first the
    # highest OID (an index's last entry), the relations only past it.
    "IF (SELECT max(oid) FROM pg_class) > threshold THEN "
    "RETURN QUERY SELECT c.oid::regclass::text, c.relkind::text, NULL::bigint, NULL::bigint "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.oid > threshold AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') "
    "AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' "
    "AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
    "AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')); "
    "END IF;"
    # New large objects.
    "IF (SELECT max(oid) FROM pg_largeobject_metadata) > threshold THEN "
    "RETURN QUERY SELECT m.oid::text, 'L'::text, NULL::bigint, NULL::bigint "
    "FROM pg_largeobject_metadata m WHERE m.oid > threshold; END IF;"
    # The built sequences that moved, unless this session moved them last.
    "RETURN QUERY SELECT s.seq::regclass::text, 'S'::text, s.value, v "
    "FROM unnest(seqs, built) s(seq, value) JOIN pg_class c ON c.oid = s.seq "
    "CROSS JOIN LATERAL pg_sequence_last_value(c.oid) v "
    "WHERE v IS NOT NULL AND v IS DISTINCT FROM s.value "
    "AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
    "AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')) "
    f"AND (NOT use_session OR {_SESSION_VALUE}(c.oid) IS DISTINCT FROM v); END$fdt$"
)

# The OID counter's high mark (nothing created later has a smaller OID), and
# each standalone sequence (no table's column owns it) with its value.
_SNAPSHOT = (
    "SELECT greatest((SELECT max(oid) FROM pg_class), "
    "(SELECT max(oid) FROM pg_largeobject_metadata))::bigint, NULL, NULL "
    "UNION ALL SELECT c.oid::bigint, c.oid::regclass::text, pg_sequence_last_value(c.oid) "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind = 'S' AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' "
    "AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
    "AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))"
)

_KINDS = {"r": "table", "p": "table", "f": "foreign table", "v": "view"}
_KINDS.update(m="materialized view", S="sequence")


@dataclasses.dataclass(frozen=True)
class Catalog:
    """A test database as its schema build left it.

    :param threshold: the highest OID then: what is created later has a larger one.
    :param sequences: each standalone sequence's OID, name and value (None: never used).
    """

    threshold: int
    sequences: tuple[tuple[int, str, int | None], ...] = ()


@dataclasses.dataclass(frozen=True)
class Differences:
    """What a database holds that its built :class:`Catalog` did not.

    :param relations: new relations: name (as ``regclass`` prints it) and kind letter.
    :param sequences: built sequences moved since: name, built value, value now.
    :param large_objects: new large objects' OIDs.
    """

    relations: tuple[tuple[str, str], ...] = ()
    sequences: tuple[tuple[str, int | None, int], ...] = ()
    large_objects: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.relations or self.sequences or self.large_objects)

    def describe(self) -> str:
        """Name what was found: ``table foo (created outside the models), ...``."""
        parts = [
            f"{_KINDS.get(kind, 'relation')} {name} (created outside the models)"
            for name, kind in self.relations
        ]
        parts += [
            f"sequence {name} moved from {'its start' if built is None else built} to {now}"
            for name, built, now in self.sequences
        ]
        if self.large_objects:
            count = len(self.large_objects)
            parts.append(f"{count} large object{'s' if count != 1 else ''}")
        return ", ".join(parts)


def take_catalog(conn: sa.Connection) -> Catalog | None:
    """Take the catalog of the database ``conn`` is on, right after its schema was built.

    None if the function the check calls could not be created (no right to
    create a schema or a function): that database is not checked.

    :param conn: a connection in a transaction (the schema build's).
    """
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(_SETUP)
    except sa.exc.DBAPIError:
        return None
    rows = conn.exec_driver_sql(_SNAPSHOT).all()
    sequences = tuple((int(oid), name, value) for oid, name, value in rows[1:])
    return Catalog(int(rows[0][0] or 0), sequences)


def check_statement(before: Catalog, use_session: bool = True) -> str:
    """Return the query whose rows :func:`differences` reads (the function's call).

    :param before: the built catalog.
    :param use_session: count a sequence this session moved last as unmoved
        (False on a connection of its own, whose session moved nothing).
    """
    oids = ",".join(str(oid) for oid, _, _ in before.sequences)
    values = ",".join(
        "NULL" if value is None else str(int(value)) for _, _, value in before.sequences
    )
    session = "true" if use_session else "false"
    return (
        f"SELECT * FROM {_FUNCTION}({int(before.threshold)}, '{{{oids}}}'::oid[], "
        f"'{{{values}}}'::bigint[], {session})"
    )


def differences(before: Catalog, rows: t.Iterable[t.Sequence[t.Any]]) -> Differences:
    """Read what :func:`check_statement` returned: what is new since ``before``.

    :param before: the built catalog (the statement was made from it).
    :param rows: the statement's rows.
    """
    relations, sequences, large_objects = [], [], []
    for name, kind, built, now in rows:
        if kind == "L":
            large_objects.append(int(name))
        elif kind == "S" and now is not None:
            sequences.append((name, built, int(now)))
        else:
            relations.append((name, kind))
    return Differences(tuple(sorted(relations)), tuple(sequences), tuple(sorted(large_objects)))


def cleanup_statements(found: Differences) -> list[str]:
    """Return the statements that undo ``found``: drop, reset, unlink.

    :param found: what :func:`differences` returned.
    """
    drop = {"v": "VIEW", "m": "MATERIALIZED VIEW", "f": "FOREIGN TABLE", "S": "SEQUENCE"}
    # regclass prints a name quoted and qualified as needed: used as it is.
    statements = [
        f"DROP {drop.get(kind, 'TABLE')} IF EXISTS {name} CASCADE" for name, kind in found.relations
    ]
    for name, built, _ in found.sequences:
        literal = "'" + name.replace("'", "''") + "'"
        if built is None:
            statements.append(f"ALTER SEQUENCE {name} RESTART")
        else:
            statements.append(f"SELECT setval({literal}::regclass, {int(built)}, true)")
    statements += [
        f"SELECT lo_unlink(oid) FROM pg_largeobject_metadata WHERE oid = {int(oid)}"
        for oid in found.large_objects
    ]
    return statements


def remove_leftovers(url: sa.URL, before: Catalog) -> Differences:
    """Find and remove what is new since ``before``, on a connection of its own; return it.

    Sequences are not compared: a connection of its own cannot tell the
    test connection's moves from another's (the class's end compares them).

    :param url: the test database.
    :param before: its built catalog.
    """
    check_test_database(url, "remove what the tests left behind")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            statement = check_statement(dataclasses.replace(before, sequences=()), False)
            found = differences(before, conn.exec_driver_sql(statement).all())
            if found:
                conn.exec_driver_sql(";\n".join(cleanup_statements(found)))
    finally:
        engine.dispose()
    return found


def leftovers_at_end(urls: t.Iterable[sa.URL], marks: Marks) -> list[str]:
    """Remove what is new in each database since its built catalog; say what, per database.

    :param urls: the run's test databases (those with a built catalog are checked).
    :param marks: the run's marks.
    """
    messages = []
    for url in dict.fromkeys(urls):
        built = built_catalog(url, marks)
        found = remove_leftovers(url, built) if built is not None else None
        if found:
            messages.append(
                f"the tests left behind in the test database {url.database!r}: "
                f"{found.describe()}, after the last test class that checked (tests of a "
                "FlaskDBTransactionTestCase, or outside a test class). A connection other "
                "than the test's made them; they were removed."
            )
    return messages


_MARK = "catalog"


def note_catalog(url: sa.URL, marks: Marks, catalog: Catalog | None) -> None:
    """Keep ``catalog`` as the database's built catalog (replacing an earlier one).

    :param url: the test database.
    :param marks: the run's marks.
    :param catalog: its catalog, right after the schema was built (None: not checked).
    """
    key = (*database_key(url), _MARK)
    for mark in [m for m in marks if m[:-1] == key]:
        marks.discard(mark)
    if catalog is not None:
        marks.add((*key, catalog))


def built_catalog(url: sa.URL, marks: Marks) -> Catalog | None:
    """Return the database's built catalog, if this run took one.

    :param url: the test database.
    :param marks: the run's marks.
    """
    key = (*database_key(url), _MARK)
    for mark in marks:
        if mark[:-1] == key and isinstance(mark[-1], Catalog):
            return mark[-1]
    return None
