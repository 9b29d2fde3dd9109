"""Models in a schema other than the default one (issue 26, item 10).

``__table_args__ = {"schema": "accounting"}``: the test database gets the
schema before ``create_all`` (production has it from a migration or its
DBA), and it goes with the database. The pairs in
tests/catalog/suite_named.py run here and, in subprocesses, in every order.
"""

from __future__ import annotations

import unittest

import sqlalchemy as sa

from flask_dbtestcase import tag
from flask_dbtestcase.cases.testdb import current_database_url
from flask_dbtestcase.databases.schema import RECORD_TABLE, ensure_tables
from flask_dbtestcase.databases.watch import LOG_TABLE
from tests.catalog.suite_named import LaterNamedSchemaTests, NamedSchemaTests  # noqa: F401
from tests.support import RunnerOrders, run_sql

PROBE_SCHEMA = "fdt probe schema"  # a name that must be quoted


class SchemaCreationTests(unittest.TestCase):
    """ensure_tables creates the schemas the models name, and reuses them."""

    def setUp(self):
        self.engine = sa.create_engine(current_database_url(), poolclass=sa.pool.NullPool)
        self.addCleanup(self.engine.dispose)
        self.addCleanup(self.drop_probe)

    def drop_probe(self):
        with self.engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{PROBE_SCHEMA}" CASCADE'))
            conn.execute(sa.text(f"DELETE FROM {RECORD_TABLE} WHERE tables LIKE 'fdt probe%'"))
            # The probe's insert, logged by the watch: no later test is to blame.
            conn.execute(sa.text(f"DELETE FROM {LOG_TABLE} WHERE relation LIKE '%fdt probe%'"))

    def metadata(self, *columns: sa.Column) -> sa.MetaData:
        metadata = sa.MetaData()
        sa.Table(
            "probe", metadata, sa.Column("id", sa.Integer, primary_key=True), *columns,
            schema=PROBE_SCHEMA,
        )  # fmt: skip
        return metadata

    def test_schema_created_then_kept_with_its_tables(self):
        self.assertTrue(ensure_tables(self.engine, self.metadata(), set()))
        run_sql(current_database_url(), f'INSERT INTO "{PROBE_SCHEMA}".probe (id) VALUES (1)')
        self.assertFalse(ensure_tables(self.engine, self.metadata(), set()), "reused")
        count = f'SELECT count(*) FROM "{PROBE_SCHEMA}".probe'
        self.assertEqual(run_sql(current_database_url(), count)[0][0], 1)

    def test_changed_models_rebuild_in_the_schema(self):
        ensure_tables(self.engine, self.metadata(), set())
        self.assertTrue(
            ensure_tables(self.engine, self.metadata(sa.Column("x", sa.Integer)), set())
        )
        columns = sa.inspect(self.engine).get_columns("probe", schema=PROBE_SCHEMA)
        self.assertEqual([c["name"] for c in columns], ["id", "x"])


@tag("slow")
class NamedSchemaOrdersTests(RunnerOrders, unittest.TestCase):
    """The pairs pass however the runner orders them (each run its own process and database)."""

    label = "tests.catalog.suite_named"

    def check_run(self, result):
        self.assertIn("OK", result.stderr)
        self.assertNotIn("does not exist", result.output)
