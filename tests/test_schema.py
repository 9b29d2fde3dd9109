"""Tables are reused from a kept database only while the models are unchanged."""

from __future__ import annotations

import dataclasses
import unittest

import sqlalchemy as sa

from flask_dbtestcase.cases.testdb import current_database_url
from flask_dbtestcase.databases.schema import RECORD_TABLE, ensure_tables, fingerprint
from flask_dbtestcase.databases.watch import LOG_TABLE
from flask_dbtestcase.settings import Settings


def probe_metadata(*extra_columns: sa.Column) -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table(
        "fdt_schema_probe", metadata, sa.Column("id", sa.Integer, primary_key=True), *extra_columns
    )
    return metadata


class EnsureTablesTests(unittest.TestCase):
    def setUp(self):
        self.engine = sa.create_engine(current_database_url())
        self.addCleanup(self.engine.dispose)
        self.addCleanup(self.drop_probe)

    def drop_probe(self):
        with self.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS fdt_schema_probe"))
            if sa.inspect(conn).has_table(RECORD_TABLE):  # not made by every test
                conn.execute(
                    sa.text(f"DELETE FROM {RECORD_TABLE} WHERE tables = 'fdt_schema_probe'")
                )
            if sa.inspect(conn).has_table("escapes", schema="flask_dbtestcase"):
                # The probe's inserts, logged by the watch: no later test is to blame.
                conn.execute(
                    sa.text(f"DELETE FROM {LOG_TABLE} WHERE relation = 'fdt_schema_probe'")
                )

    def columns(self):
        return {c["name"] for c in sa.inspect(self.engine).get_columns("fdt_schema_probe")}

    def test_unchanged_models_reuse_tables_and_data(self):
        self.assertTrue(ensure_tables(self.engine, probe_metadata(), set()))
        with self.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO fdt_schema_probe (id) VALUES (1)"))
        self.assertFalse(ensure_tables(self.engine, probe_metadata(), set()))
        with self.engine.connect() as conn:
            self.assertEqual(
                conn.execute(sa.text("SELECT count(*) FROM fdt_schema_probe")).scalar(), 1
            )

    def test_changed_models_rebuild_the_tables(self):
        ensure_tables(self.engine, probe_metadata(), set())
        self.assertTrue(
            ensure_tables(self.engine, probe_metadata(sa.Column("name", sa.String(20))), set())
        )
        self.assertEqual(self.columns(), {"id", "name"})
        self.assertTrue(ensure_tables(self.engine, probe_metadata(), set()))
        self.assertEqual(self.columns(), {"id"})

    def test_fingerprint_sees_types_indexes_and_enum_values(self):
        dialect = self.engine.dialect
        base = fingerprint(probe_metadata(sa.Column("n", sa.Integer)), dialect)
        self.assertEqual(base, fingerprint(probe_metadata(sa.Column("n", sa.Integer)), dialect))
        self.assertNotEqual(
            base, fingerprint(probe_metadata(sa.Column("n", sa.BigInteger)), dialect)
        )
        self.assertNotEqual(
            base, fingerprint(probe_metadata(sa.Column("n", sa.Integer, index=True)), dialect)
        )
        first = fingerprint(
            probe_metadata(sa.Column("e", sa.Enum("a", "b", name="fdt_e"))), dialect
        )
        second = fingerprint(
            probe_metadata(sa.Column("e", sa.Enum("a", "c", name="fdt_e"))), dialect
        )
        self.assertNotEqual(first, second)


class BlankDatabaseTests(unittest.TestCase):
    """A database made from a clean template1 gets its tables without existence checks."""

    def setUp(self):
        from flask_dbtestcase.databases.creation import (
            Timeouts,
            create_test_database,
            destroy_test_database,
        )

        url = current_database_url().set(database="test_blank_probe")
        create_test_database(url, Timeouts(), interactive=False, autoclobber=True)
        self.addCleanup(destroy_test_database, url)
        self.engine = sa.create_engine(url)
        self.addCleanup(self.engine.dispose)
        self.statements: list[str] = []
        sa.event.listen(
            self.engine,
            "before_cursor_execute",
            lambda conn, cursor, statement, *rest: self.statements.append(statement),
        )

    def run_sql(self, *statements):
        with self.engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
        self.statements.clear()

    def existence_checks(self):
        # SQLAlchemy's has_table() and has_type() queries.
        return [s for s in self.statements if "pg_catalog.pg_class.relname" in s
                or "pg_catalog.pg_type.typname" in s]  # fmt: skip

    def test_blank_database_gets_tables_watch_and_record_without_checks(self):
        metadata = probe_metadata(sa.Column("e", sa.Enum("a", "b", name="fdt_blank_e")))
        self.assertTrue(ensure_tables(self.engine, metadata, set()))
        self.assertEqual(self.existence_checks(), [])
        inspector = sa.inspect(self.engine)
        self.assertIn("fdt_schema_probe", inspector.get_table_names())
        self.assertIn(RECORD_TABLE, inspector.get_table_names())
        with self.engine.connect() as conn:
            triggers = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'fdt_schema_probe'::regclass"
            ).scalar()
        self.assertEqual(triggers, 1)
        self.assertFalse(ensure_tables(self.engine, metadata, set()))

    def test_a_leftover_table_without_a_record_is_rebuilt(self):
        self.run_sql("CREATE TABLE fdt_schema_probe (id integer, old text)")
        self.assertTrue(ensure_tables(self.engine, probe_metadata(), set()))
        self.assertNotEqual(self.existence_checks(), [])
        columns = {c["name"] for c in sa.inspect(self.engine).get_columns("fdt_schema_probe")}
        self.assertEqual(columns, {"id"})

    def test_a_leftover_enum_type_is_replaced(self):
        self.run_sql("CREATE TYPE fdt_blank_e AS ENUM ('x')")
        metadata = probe_metadata(sa.Column("e", sa.Enum("a", "b", name="fdt_blank_e")))
        self.assertTrue(ensure_tables(self.engine, metadata, set()))
        with self.engine.connect() as conn:
            labels = conn.exec_driver_sql(
                "SELECT array_agg(enumlabel ORDER BY enumsortorder) FROM pg_enum "
                "WHERE enumtypid = 'fdt_blank_e'::regtype"
            ).scalar()
        self.assertEqual(labels, ["a", "b"])


class PrebuildSchemaTests(unittest.TestCase):
    """--parallel builds the default app's schema once, before cloning it for the workers."""

    def setUp(self):
        from flask_dbtestcase.databases.creation import (
            Timeouts,
            create_test_database,
            destroy_test_database,
        )
        from flask_dbtestcase.databases.lifecycle import TestDatabases

        self.url = current_database_url().set(database="test_prebuild_probe")
        create_test_database(self.url, Timeouts(), interactive=False, autoclobber=True)
        self.addCleanup(destroy_test_database, self.url)
        config = Settings.load().databases_config()
        self.databases = TestDatabases(config, self.url, "server")

    def settings(self, spec):
        """The run's settings, naming the default app factory as `flask --app` does."""
        return dataclasses.replace(Settings.load(), cli_app=spec)

    def test_schema_is_built_and_cloned(self):

        from flask_dbtestcase.cases.testapp import prebuild_schema
        from flask_dbtestcase.databases.creation import (
            Timeouts,
            clone_test_database,
            destroy_test_database,
        )
        from tests.migrationsapp import db

        settings = self.settings("tests.migrationsapp:create_app")
        message = prebuild_schema(self.databases, settings)
        self.assertIn("built once, before cloning", message)
        clone = clone_test_database(self.url, "1", Timeouts())
        self.addCleanup(destroy_test_database, clone)
        engine = sa.create_engine(clone)
        self.addCleanup(engine.dispose)
        # The clone has the tables and their fingerprint: a worker builds nothing.
        self.assertFalse(ensure_tables(engine, db.metadata, set()))
        self.assertIn("account", sa.inspect(engine).get_table_names())

    def test_apps_with_binds_are_left_to_the_workers(self):

        from flask_dbtestcase.cases.testapp import prebuild_schema

        message = prebuild_schema(self.databases, self.settings("tests.sampleapp:create_app"))
        self.assertIn("the app has binds", message)
        engine = sa.create_engine(self.url)
        self.addCleanup(engine.dispose)
        self.assertEqual(sa.inspect(engine).get_table_names(), [])
