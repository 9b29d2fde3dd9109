"""Putting a database back without the superuser's shortcut: foreign keys, and the fallback.

The throwaway server's user is a superuser, so the clean-up of a
FlaskDBTransactionTestCase turns foreign key checks off while it empties
the written tables. A user who may not (an existing server) gets ``DELETE``
in foreign key order, and ``TRUNCATE ... CASCADE`` of every table when a
foreign key the models do not name refuses it: both on a database of their own.
"""

from __future__ import annotations

import dataclasses
import unittest

import sqlalchemy as sa

from flask_dbtestcase.cases.transactional import Cleaner, baseline_for, database_groups, put_back
from flask_dbtestcase.databases.emptying import (
    changes,
    empty_written_call,
    restore_statement,
    take_baseline,
)
from flask_dbtestcase.databases.watch import PINNED_SETTING, install_statements, note_watched
from tests.support import fresh_database

metadata = sa.MetaData()
parent = sa.Table("parent", metadata, sa.Column("id", sa.Integer, primary_key=True))
child = sa.Table(
    "child",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("parent_id", sa.ForeignKey("parent.id", ondelete="RESTRICT")),
    sa.Column("boss_id", sa.ForeignKey("child.id")),
)
SEEDS = "INSERT INTO parent (id) VALUES (100)"


class NoSuperuserTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.url = cls.enterClassContext(fresh_database())
        cls.engine = sa.create_engine(cls.url)
        cls.addClassCleanup(cls.engine.dispose)
        with cls.engine.begin() as conn:
            metadata.create_all(conn)
            conn.exec_driver_sql(SEEDS)
        with cls.engine.connect() as conn:
            cls.baseline = dataclasses.replace(
                take_baseline(conn, list(metadata.sorted_tables)), replica=False
            )

    def put_back(self, serialized: bool) -> str:
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            found = changes(conn, self.baseline, watched=False)
            found.written = {oid for oid, name in self.baseline.tables.items() if name == "child"}
            if serialized:
                found.written |= set(self.baseline.seeds)
            statement = restore_statement(self.baseline, found, False, serialized)
            try:
                conn.exec_driver_sql(statement)
            except sa.exc.IntegrityError:
                statement = restore_statement(self.baseline, found, False, serialized, True)
                conn.exec_driver_sql(statement)
        return statement

    def rows(self, statement: str):
        with self.engine.connect() as conn:
            return conn.exec_driver_sql(statement).all()

    def test_foreign_keys_in_order(self):
        with self.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO child (id, parent_id) VALUES (1, 100), (2, 100)")
            conn.exec_driver_sql("UPDATE child SET boss_id = 1 WHERE id = 2")
            conn.exec_driver_sql("INSERT INTO parent (id) VALUES (101)")
        statement = self.put_back(serialized=True)
        self.assertNotIn("session_replication_role", statement)
        self.assertNotIn("TRUNCATE", statement)  # one DELETE of both, checked at its end
        self.assertEqual(self.rows("SELECT id FROM parent"), [(100,)])
        self.assertEqual(self.rows("SELECT count(*) FROM child"), [(0,)])

    def test_a_foreign_key_the_models_do_not_name(self):
        with self.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE other (p int REFERENCES parent)")
            conn.exec_driver_sql("INSERT INTO other VALUES (100)")
        with self.engine.connect() as conn:  # made after the build: the baseline names it new
            self.assertIn(("r", "other"), changes(conn, self.baseline, False).new)
        self.baseline.hwm, hwm = 1 << 31, self.baseline.hwm  # as if the build had made it
        try:
            statement = self.put_back(serialized=True)  # DELETE FROM parent: refused
        finally:
            self.baseline.hwm = hwm
        self.assertIn("TRUNCATE", statement)
        self.assertEqual(self.rows("SELECT id FROM parent"), [(100,)])
        self.assertEqual(self.rows("SELECT count(*) FROM other"), [(0,)])
        with self.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE other")


class GroupTests(unittest.TestCase):
    def test_one_group_per_database(self):
        engine = sa.create_engine("postgresql+psycopg2://u@h/db")
        other = sa.MetaData()
        sa.Table("x", other, sa.Column("id", sa.Integer, primary_key=True))
        groups = database_groups(
            [({}, {None: metadata}), ({}, {"mirror": other})], {None: engine, "mirror": engine}
        )
        self.assertEqual(len(groups), 1)
        self.assertEqual({table.name for table in groups[0][1]}, {"parent", "child", "x"})


class BuiltSinceTests(unittest.TestCase):
    """Tables another app's class built after the baseline are not a test's to drop."""

    def test_a_build_since_the_baseline(self):
        with fresh_database() as url:
            engine = sa.create_engine(url)
            self.addCleanup(engine.dispose)
            with engine.begin() as conn:
                metadata.create_all(conn)
            run, marks = type("Run", (), {})(), {("built", "first app")}
            cleaner = Cleaner(engine, list(metadata.sorted_tables))
            groups = [cleaner]
            try:
                put_back(run, groups, marks, serialized=False, start=True)
                with engine.begin() as conn:  # a FlaskDBTestCase class builds another app
                    conn.exec_driver_sql("CREATE TABLE other_app (id serial PRIMARY KEY)")
                marks.add(("built", "other app"))
                with engine.begin() as conn:  # ... and a test makes a table of its own
                    put_back(run, groups, marks, serialized=False, start=True)
                    conn.exec_driver_sql("CREATE TABLE made_by_a_test (x int)")
                put_back(run, groups, marks, serialized=False, start=False)
                with engine.connect() as conn:
                    found = conn.exec_driver_sql(
                        "SELECT to_regclass('other_app'), to_regclass('made_by_a_test')"
                    ).one()
            finally:
                cleaner.close()  # (before the database is dropped)
            self.assertEqual(tuple(found), ("other_app", None))


class OneRoundTripTests(unittest.TestCase):
    """After a test, a watched database is put back by one call of the watch's function;
    what it does not know (something made since, a foreign key the models do not name)
    falls back to the full clean-up. As a superuser (a replica) and as a user who may not."""

    @classmethod
    def setUpClass(cls):
        cls.url = sa.make_url(cls.enterClassContext(fresh_database()))
        cls.engine = sa.create_engine(cls.url)
        cls.addClassCleanup(cls.engine.dispose)
        tables = [
            cls.engine.dialect.identifier_preparer.format_table(t) for t in metadata.tables.values()
        ]
        with cls.engine.begin() as conn:
            metadata.create_all(conn)
            conn.exec_driver_sql(";\n".join(install_statements(tables)))

    def setUp(self):
        self.marks = {("built", "the app")}
        note_watched(self.url, self.marks)
        self.run_databases = type("Run", (), {})()
        self.sent: list[str] = []
        self.cleaner = Cleaner(self.engine, list(metadata.sorted_tables))
        self.addCleanup(self.cleaner.close)
        put_back(self.run_databases, [self.cleaner], self.marks, serialized=False, start=True)

    def put_back(self, replica: bool) -> None:
        baseline = baseline_for(
            self.run_databases, self.engine, self.cleaner.tables, self.marks, start=False
        )
        baseline.replica = replica  # (the server's user is a superuser: as if not)
        self.cleaner.close()  # its next connection takes the role
        self.sent.clear()

        def sent(conn, cursor, statement, *args):
            if conn.get_execution_options().get("flask_dbtestcase_put_back"):
                if not statement.startswith(f"SET {PINNED_SETTING}"):  # (a new connection's)
                    self.sent.append(statement)

        sa.event.listen(self.engine, "before_cursor_execute", sent)
        try:
            put_back(self.run_databases, [self.cleaner], self.marks, serialized=False, start=False)
        finally:
            sa.event.remove(self.engine, "before_cursor_execute", sent)

    def write(self, *statements: str) -> None:
        with self.engine.begin() as conn:  # really committed, logged by the watch
            for statement in statements:
                conn.exec_driver_sql(statement)

    def state(self):
        with self.engine.connect() as conn:
            return conn.exec_driver_sql(
                "SELECT (SELECT count(*) FROM parent), (SELECT count(*) FROM child), "
                "(SELECT count(*) FROM flask_dbtestcase.escapes), "
                "(SELECT is_called FROM child_id_seq)"
            ).one()

    def test_written_tables_emptied_in_one_round_trip(self):
        for replica in (True, False):
            with self.subTest(replica=replica):
                self.write(
                    "INSERT INTO parent (id) VALUES (1)",
                    "INSERT INTO child (parent_id) VALUES (1), (1)",  # moves child_id_seq
                    "UPDATE child SET boss_id = (SELECT min(id) FROM child)",
                )
                self.assertEqual(tuple(self.state()), (1, 2, 3, True))
                self.put_back(replica)
                self.assertEqual(self.sent, [empty_written_call(self.cleaner_baseline())])
                self.assertEqual(tuple(self.state()), (0, 0, 0, False))

    def test_a_table_made_since_falls_back(self):
        self.write("INSERT INTO parent (id) VALUES (1)", "CREATE TABLE made (x int)")
        self.put_back(replica=False)
        self.assertEqual(self.sent[0], empty_written_call(self.cleaner_baseline()))  # 'made'
        self.assertIn("DROP TABLE IF EXISTS made", self.sent[-1])  # the full clean-up
        self.assertEqual(tuple(self.state()), (0, 0, 0, False))
        with self.engine.connect() as conn:
            self.assertIsNone(conn.exec_driver_sql("SELECT to_regclass('made')").scalar())

    def test_a_lost_connection_is_replaced(self):
        self.put_back(replica=True)  # the cleaner's connection, opened
        pid = self.cleaner.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with self.engine.connect() as conn:  # a test ended it (or the server restarted)
            self.assertTrue(conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar())
        self.write("INSERT INTO parent (id) VALUES (1)")
        put_back(self.run_databases, [self.cleaner], self.marks, serialized=False, start=False)
        self.assertEqual(tuple(self.state()), (0, 0, 0, False))
        new = self.cleaner.conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        self.assertNotEqual(new, pid)

    def test_a_logged_table_it_does_not_know_falls_back(self):
        self.write(
            "INSERT INTO parent (id) VALUES (1)",
            "INSERT INTO flask_dbtestcase.escapes (relation, operation) VALUES ('gone', 'INSERT')",
        )
        self.put_back(replica=True)
        self.assertEqual(self.sent[0], empty_written_call(self.cleaner_baseline()))  # 'unknown'
        self.assertIn("DELETE FROM parent", self.sent[-1])  # every table, as if not watched
        self.assertEqual(tuple(self.state()), (0, 0, 0, False))

    def test_a_foreign_key_the_models_do_not_name_falls_back(self):
        self.write("CREATE TABLE other (p int REFERENCES parent)")
        baseline = self.cleaner_baseline()
        hwm, baseline.hwm = baseline.hwm, 1 << 31  # as if the build had made it
        self.addCleanup(setattr, baseline, "hwm", hwm)
        self.addCleanup(self.write, "DROP TABLE other")
        self.write("INSERT INTO parent (id) VALUES (1)", "INSERT INTO other VALUES (1)")
        self.put_back(replica=False)
        self.assertIn("TRUNCATE", self.sent[-1])  # DELETE FROM parent was refused, twice
        self.assertEqual(tuple(self.state()), (0, 0, 0, False))
        with self.engine.connect() as conn:
            self.assertEqual(conn.exec_driver_sql("SELECT count(*) FROM other").scalar(), 0)

    def cleaner_baseline(self):
        return baseline_for(
            self.run_databases, self.engine, self.cleaner.tables, self.marks, start=False
        )
