"""Putting a test database back as the schema build left it, after real commits.

What a :class:`~flask_dbtestcase.FlaskDBTransactionTestCase` test commits
stays; after it, the database is put back in a few round trips whose cost
does not grow with the number of tables:

- the tables it wrote are emptied (``DELETE``, children first: much cheaper
  than ``TRUNCATE`` on the small tables of a test; a foreign key the models
  do not name that refuses it gets ``TRUNCATE ... CASCADE`` of every table
  instead). Which tables were written is in the watch's
  log (:mod:`.watch`): on a FlaskDBTransactionTestCase's connections the
  watch's trigger logs every write, whoever made it, and a rolled-back
  write takes its log row with it;
- the sequences that moved (``pg_sequence_last_value`` is not NULL, or
  not the seeded value) are set back to their start, standalone ones too;
- tables, views, sequences, types and schemas made after the build are
  dropped (their OID is above the build's highest);
- with ``serialized_rollback``, the rows the build left (a data
  migration's seed rows), captured once, are put back in the emptied tables.

A :class:`Baseline` is what the build left, taken from the database once per
run and database (and again when more tables are built); :func:`changes` is
the per-test query; :func:`restore_statement` the one statement (an implicit
transaction) that puts the database back.
"""

from __future__ import annotations

import dataclasses
import typing as t
import warnings

import sqlalchemy as sa

from .watch import LAST_VALUE, LOG_TABLE, WATCH_SCHEMA, made_since

__all__ = [
    "Baseline",
    "Changes",
    "changes",
    "empty_written_call",
    "restore_statement",
    "take_baseline",
]

#: Schemas that are not the app's: the system's and the watch's.
_NOT_APP = f"(nspname ~ '^pg_' OR nspname IN ('information_schema', '{WATCH_SCHEMA}'))"
_APP_NAMESPACES = f"(SELECT oid FROM pg_namespace WHERE NOT {_NOT_APP})"
#: Relations a test may make: table, partitioned table, sequence, view, matview, foreign table.
_RELKINDS = "('r', 'p', 'S', 'v', 'm', 'f')"
_DROP = {
    "r": "TABLE",
    "p": "TABLE",
    "f": "FOREIGN TABLE",
    "S": "SEQUENCE",
    "v": "VIEW",
    "m": "MATERIALIZED VIEW",
    "T": "TYPE",
    "N": "SCHEMA",
}

#: A sequence's name and start, by OID; a table and column that own a sequence, by its OID.
_Sequences = dict[int, tuple[str, int]]
_Owned = dict[int, tuple[int, str]]


@dataclasses.dataclass
class Baseline:
    """What the schema build left in one test database.

    :param hwm: the highest OID of the build's relations, types and schemas.
    :param tables: the app's tables (OID -> quoted, qualified name), parents first.
    :param referencing: for each table, the tables whose foreign keys point at it.
    :param sequences: each sequence of the build (OID -> name, start).
    :param owned: for a sequence owned by a table's column: the table and column.
    :param seeds: for a table the build left rows in: its column list and rows
        (an array literal of the table's row type).
    :param seed_max: for an owned sequence of a seeded table: the seeds' highest value.
    :param replica: the user may set ``session_replication_role`` (a superuser).
    """

    hwm: int
    tables: dict[int, str]
    referencing: dict[int, set[int]]
    sequences: _Sequences
    owned: _Owned
    seeds: dict[int, tuple[str, str]] = dataclasses.field(default_factory=dict)
    seed_max: dict[int, int] = dataclasses.field(default_factory=dict)
    #: The user may turn triggers off (a superuser): no foreign key checks while emptying.
    replica: bool = False
    #: The app's tables (quoted names) the database does not hold: not looked for again.
    missing: set[str] = dataclasses.field(default_factory=set)
    #: How many marks the run had when this was taken (a build since adds some).
    builds: int = 0
    #: The per-test clean-up's statement (:func:`empty_written_call`), made on first use.
    call: str | None = None


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _oids(oids: t.Iterable[int]) -> str:
    return _literal("{" + ",".join(str(o) for o in oids) + "}") + "::oid[]"


def take_baseline(
    conn: sa.Connection, tables: list[sa.Table], before: Baseline | None = None
) -> Baseline:
    """Read what the build left: the tables' OIDs, the sequences, the seed rows.

    Tables already in ``before`` keep what it captured (their seed rows were
    taken right after their build); tables built since are added.

    :param conn: a connection to the test database (no transaction needed).
    :param tables: the app's tables on this database.
    :param before: the baseline taken earlier in the run, if any.
    """
    preparer = conn.dialect.identifier_preparer
    with warnings.catch_warnings():  # a cycle of foreign keys: the order is a best effort
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        ordered = sa.schema.sort_tables(tables)
    names = [preparer.format_table(table) for table in ordered]
    found = conn.exec_driver_sql(
        "SELECT to_regclass(name)::oid::bigint FROM unnest("
        + _literal("{" + ",".join('"' + n.replace('"', '\\"') + '"' for n in names) + "}")
        + "::text[]) WITH ORDINALITY AS x(name, i) ORDER BY i"
    ).all()
    oids = {table: row[0] for table, row in zip(ordered, found) if row[0] is not None}
    hwm, sequences, owned, replica = _catalog(conn)
    by_name = {id(table): oid for table, oid in oids.items()}
    referencing: dict[int, set[int]] = {oid: set() for oid in oids.values()}
    for table, oid in oids.items():
        for fk in table.foreign_key_constraints:
            target = by_name.get(id(fk.referred_table))
            if target is not None and target != oid:
                referencing[target].add(oid)
    baseline = Baseline(
        max(hwm, before.hwm if before else 0),
        {oid: preparer.format_table(table) for table, oid in oids.items()},
        referencing,
        sequences,
        owned,
        replica=replica,
    )
    baseline.missing = {name for name, row in zip(names, found) if row[0] is None}
    new = [oid for oid in baseline.tables if before is None or oid not in before.tables]
    if before is not None:  # another app's tables on the database stay known
        baseline.tables = {**before.tables, **baseline.tables}
        for oid, others in before.referencing.items():
            baseline.referencing.setdefault(oid, set()).update(others)
        baseline.seeds.update(before.seeds)
        baseline.seed_max.update(before.seed_max)
        baseline.missing |= before.missing - set(baseline.tables.values())
    _capture_seeds(conn, baseline, new)
    return baseline


def _catalog(conn: sa.Connection) -> tuple[int, _Sequences, _Owned, bool]:
    """The build's highest OID, its sequences, the columns that own them, a superuser?"""
    hwm, replica = conn.exec_driver_sql(
        "SELECT greatest((SELECT max(oid::bigint) FROM pg_class), "
        "(SELECT max(oid::bigint) FROM pg_type), (SELECT max(oid::bigint) FROM pg_namespace)), "
        "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
    ).one()
    rows = conn.exec_driver_sql(
        "SELECT c.oid::bigint, c.oid::regclass::text, s.seqstart, d.refobjid::bigint, a.attname "
        "FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid "
        "LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid "
        "AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') "
        "LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
        f"WHERE c.relkind = 'S' AND c.relnamespace IN {_APP_NAMESPACES}"
    ).all()
    sequences = {row[0]: (row[1], row[2]) for row in rows}
    owned = {row[0]: (row[3], row[4]) for row in rows if row[3] is not None and row[4]}
    return int(hwm or 0), sequences, owned, bool(replica)


def _capture_seeds(conn: sa.Connection, baseline: Baseline, oids: list[int]) -> None:
    """Capture the rows of the tables ``oids`` (and their sequences' highest value)."""
    if not oids:
        return
    parts = []
    for oid in oids:
        name = baseline.tables[oid]
        parts.append(
            f"SELECT {oid}::bigint, (SELECT array_agg(x)::text FROM {name} x), "
            "(SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
            f"WHERE attrelid = {oid} AND attnum > 0 AND NOT attisdropped AND attgenerated = '')"
        )
    for oid, rows, columns in conn.exec_driver_sql(" UNION ALL ".join(parts)).all():
        if rows is not None:
            baseline.seeds[oid] = (columns, rows)
    seeded = [(seq, table, column) for seq, (table, column) in baseline.owned.items()
              if table in baseline.seeds and table in oids]  # fmt: skip
    if seeded:
        quote = conn.dialect.identifier_preparer.quote
        query = " UNION ALL ".join(
            f"SELECT {seq}::bigint, "
            f"(SELECT max({quote(column)})::bigint FROM {baseline.tables[table]})"
            for seq, table, column in seeded
        )
        for seq, value in conn.exec_driver_sql(query).all():
            if value is not None:
                baseline.seed_max[seq] = value


@dataclasses.dataclass
class Changes:
    """What a test changed in its database: :func:`changes`' answer.

    :param written: the OIDs of the tables written (None: not known, all of them).
    :param sequences: the sequences that moved (OID -> last value).
    :param new: what was made after the build: (kind, name), kind a relkind,
        ``"T"`` (a type) or ``"N"`` (a schema).
    """

    written: set[int] | None
    sequences: dict[int, int]
    new: list[tuple[str, str]]


def changes(conn: sa.Connection, baseline: Baseline, watched: bool, probe: bool = False) -> Changes:
    """Ask the database what the test changed: one round trip (two if it created something).

    :param conn: a connection to the test database.
    :param baseline: what the build left.
    :param watched: the database has the watch: its log names the written tables.
        Without it, every table counts as written.
    :param probe: count the tables that hold rows as written too (at a class's
        start: what came before it may have left rows the log does not name).
    """
    parts = [
        "SELECT 's', oid, value::text FROM (SELECT c.oid::bigint AS oid, "
        f"{LAST_VALUE} AS value FROM pg_class c "
        f"WHERE c.oid = ANY({_oids(baseline.sequences)})) s WHERE value IS NOT NULL",
        # What was made since the build is asked only then.
        f"SELECT 'm', 0, '' WHERE {made_since(baseline.hwm)}",
    ]
    if watched:
        parts.append(f"SELECT 'w', to_regclass(relation)::oid::bigint, '' FROM {LOG_TABLE}")
    if probe:
        parts += [f"SELECT 'w', {oid}, '' WHERE EXISTS (SELECT FROM {name})"
                  for oid, name in baseline.tables.items()]  # fmt: skip
    written: set[int] | None = set() if watched or probe else None
    found = Changes(written, {}, [])
    for kind, oid, value in conn.exec_driver_sql(" UNION ALL ".join(parts)).all():
        if kind == "s":
            found.sequences[oid] = int(value)
        elif kind == "m":
            found.new = _made_since(conn, baseline)
        elif found.written is not None:
            if oid is None or oid not in baseline.tables:  # a table made again since?
                found.written = None
            else:
                found.written.add(oid)
    return found


def empty_written_call(baseline: Baseline) -> str:
    """Return the statement that puts a watched database back after a test, in one round trip.

    It calls the watch's ``empty_written`` function (:mod:`.watch`), which
    answers ``'done'``, or, when the test made something since the build or
    wrote a table the baseline does not know, ``'made'`` or ``'unknown'``
    without changing anything: :func:`changes` and :func:`restore_statement`
    then do the rest. Not for ``serialized_rollback``, nor at a class's
    start. The statement is the same for every test (a driver may prepare it).
    The session it runs on decides the role: a superuser's clean-up
    connection is a replica for good (no foreign key checks, no triggers).

    :param baseline: what the build left.
    """
    if baseline.call is None:
        sequences = sorted(baseline.sequences)
        baseline.call = (
            f"SELECT {WATCH_SCHEMA}.empty_written({_oids(reversed(list(baseline.tables)))}, "
            f"{_oids(sequences)}, "
            + _literal("{" + ",".join(str(baseline.sequences[s][1]) for s in sequences) + "}")
            + f"::bigint[], {baseline.hwm}::oid)"
        )
    return baseline.call


def _made_since(conn: sa.Connection, baseline: Baseline) -> list[tuple[str, str]]:
    """The tables, views, sequences, types and schemas made after the build: (kind, name)."""
    query = " UNION ALL ".join(
        [
            "SELECT c.relkind::text || c.oid::regclass::text FROM pg_class c "
            f"WHERE c.oid > {baseline.hwm} AND c.relkind IN {_RELKINDS} "
            f"AND c.relnamespace IN {_APP_NAMESPACES}",
            "SELECT 'T' || ty.oid::regtype::text FROM pg_type ty "
            f"WHERE ty.oid > {baseline.hwm} AND ty.typnamespace IN {_APP_NAMESPACES} "
            "AND (ty.typtype IN ('e', 'd', 'r') OR (ty.typtype = 'c' AND "
            "(SELECT relkind FROM pg_class WHERE oid = ty.typrelid) = 'c'))",
            "SELECT 'N' || quote_ident(nspname) FROM pg_namespace "
            f"WHERE oid > {baseline.hwm} AND NOT {_NOT_APP}",
        ]
    )
    return [(value[0], value[1:]) for (value,) in conn.exec_driver_sql(query).all()]


def restore_statement(
    baseline: Baseline, found: Changes, watched: bool, serialized: bool, truncate: bool = False
) -> str | None:
    """Return the statements that undo ``found`` (one string), or None if nothing changed.

    :param baseline: what the build left.
    :param found: what the test changed.
    :param watched: clear the watch's log too.
    :param serialized: put the build's rows back (``serialized_rollback``).
    :param truncate: empty every table with ``TRUNCATE ... CASCADE`` (when the
        ``DELETE`` of the written ones failed: a foreign key the models do not name).
    """
    statements = []
    for kind, name in sorted(found.new, key=lambda item: "vmfrpSTN".index(item[0])):
        statements.append(f"DROP {_DROP[kind]} IF EXISTS {name} CASCADE")
    written = set(baseline.tables) if found.written is None or truncate else found.written
    # Only the written tables hold rows the build did not leave (a cascade is a
    # write too); with serialized_rollback, the seeded tables that point at them
    # hold seed rows that must go first (and come back).
    emptied = _with_referencing(baseline, written, set(baseline.seeds) if serialized else set())
    order = list(baseline.tables)  # parents first
    # One statement empties the tables, clears the log and resets the sequences
    # (data-modifying CTEs: one plan; foreign keys are checked at its end, when
    # every row is gone). Without the replica role, the watch's trigger logs the
    # DELETEs at that end, and the seed rows' INSERTs: the log is cleared last.
    deletes, last = [], []
    if truncate:
        statements.append("TRUNCATE " + ", ".join(baseline.tables.values()) + " CASCADE")
    elif emptied:
        if baseline.replica:  # no foreign key check per row and key (nor the app's triggers)
            statements.append("SET LOCAL session_replication_role = replica")
        deletes += [f"DELETE FROM {baseline.tables[oid]}" for oid in reversed(order)
                    if oid in emptied]  # fmt: skip
    if serialized:
        for oid in order:
            if oid in emptied and oid in baseline.seeds:
                columns, rows = baseline.seeds[oid]
                name = baseline.tables[oid]
                last.append(
                    f"INSERT INTO {name} ({columns}) OVERRIDING SYSTEM VALUE "
                    f"SELECT {columns} FROM unnest({_literal(rows)}::{name}[])"
                )
    resets = _sequence_resets(baseline, found, serialized, truncate)
    if not (statements or deletes or last or resets):
        return None
    if watched:
        log = f"DELETE FROM {LOG_TABLE}"
        (deletes if baseline.replica and not truncate else last).append(log)
    select = "SELECT " + (", ".join(resets) or "1")
    if deletes:
        ctes = ", ".join(f"d{i} AS ({delete})" for i, delete in enumerate(deletes))
        statements.append(f"WITH {ctes} {select}")
    elif resets:
        statements.append(select)
    return ";\n".join(statements + last)


def _sequence_resets(
    baseline: Baseline, found: Changes, serialized: bool, truncate: bool
) -> list[str]:
    """The ``setval`` calls that put the moved sequences back."""
    resets = []
    moved = set(baseline.sequences if truncate else found.sequences)
    if serialized:
        moved |= set(baseline.seed_max)
    for oid in sorted(moved):
        target = baseline.seed_max.get(oid) if serialized else None
        if oid in baseline.sequences and found.sequences.get(oid) != target:
            name, start = baseline.sequences[oid]
            if target is None:
                resets.append(f"setval({_literal(name)}, {start}, false)")
            else:
                resets.append(f"setval({_literal(name)}, {target}, true)")
    return resets


def _with_referencing(baseline: Baseline, oids: t.Iterable[int], among: set[int]) -> set[int]:
    """Return ``oids`` and the tables of ``among`` whose foreign keys lead to one of them."""
    found, todo = set(oids), list(oids)
    while todo:
        for other in baseline.referencing.get(todo.pop(), ()):
            if other in among and other not in found:
                found.add(other)
                todo.append(other)
    return found
