"""Large objects and AUTOCOMMIT-only statements, in pairs: the first does it, the later ones
find nothing left.

Each test's setUp checks, on a separate real connection, that nothing an
earlier test did is there; the ``test_2_nothing_left`` of each class (and
the later classes) check the test connection too. A test that does the
thing sends it as its first statement where that matters (a check in setUp
would open the test's savepoint before it, hiding a statement that skips
it). tests/test_statements.py runs this module in the project's suite and,
in subprocesses, reversed, shuffled and with ``--parallel 2``, on either
driver (``FLASK_DBTESTCASE_DRIVER``).
"""

from __future__ import annotations

import contextlib
import io
import typing as t
import unittest

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase, FlaskDBTransactionTestCase, IsolationError
from flask_dbtestcase.cases.testdb import current_database_url
from flask_dbtestcase.isolation import autocommit
from tests.sampleapp import create_app, db
from tests.support import run_sql

#: What an earlier test may have left: large objects, this suite's indexes,
#: its database, its enum values.
LEFT = (
    "SELECT (SELECT count(*) FROM pg_largeobject_metadata),"
    " (SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'stmt\\_%'),"
    " (SELECT count(*) FROM pg_database WHERE datname = 'stmt_db'),"
    " (SELECT count(*) FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid"
    " WHERE t.typname = 'stmt_mood' AND e.enumlabel = 'ecstatic')"
)
NOTHING = (0, 0, 0, 0)


def driver_connection() -> t.Any:
    """The test's shared DBAPI connection, as the app could reach it."""
    return db.session.connection().connection.dbapi_connection


@contextlib.contextmanager
def autocommit_connection() -> t.Iterator[sa.Connection]:
    """A connection of the app's engine in AUTOCOMMIT, as production code opens one."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        yield conn


class StatementCase(FlaskDBTestCase):
    app_factory = create_app
    #: What this class's tests see on the test connection when nothing leaked.
    left_here: tuple[int, ...] = NOTHING

    def take_refusals(self) -> list[str]:
        """Take what was refused during the test (it would fail the test at its end)."""
        conn = db.session.connection().connection.dbapi_connection
        return conn.savepoints.turns.take_refusals()

    def setUp(self):
        self.assertNothingOnTheServer()

    def assertNothingOnTheServer(self):
        """Check, on a separate real connection, that nothing was left."""
        self.assertEqual(tuple(run_sql(current_database_url(), LEFT)[0]), NOTHING, "server")

    def assertNothingLeft(self):
        """Check, on the test connection and a separate real one, that nothing was left."""
        self.assertEqual(tuple(self.session.execute(sa.text(LEFT)).one()), self.left_here)
        self.assertNothingOnTheServer()

    def count_large_objects(self) -> int:
        return self.session.scalar(sa.text("SELECT count(*) FROM pg_largeobject_metadata"))


class LargeObjectFirstTests(StatementCase):
    """A large object made by a test's first statement is undone with the test (item 8)."""

    def test_1_lobject(self):
        """psycopg2's lobject() as the class's first statement: inside the test's savepoint."""
        conn = driver_connection()
        if conn.driver != "psycopg2":
            self.skipTest("psycopg 3 has no lobject(): its large objects go through SQL")
        large_object = conn.lobject(0, "wb")
        large_object.write(b"made by test_1_lobject")
        large_object.close()
        self.assertEqual(self.count_large_objects(), 1)

    def test_2_nothing_left(self):
        self.assertNothingLeft()


class LargeObjectTests(StatementCase):
    """A large object a test makes is undone with the test, and with the session's rollback."""

    def test_1_lobject_in_the_session_transaction(self):
        """A large object made in the session's transaction goes with it, as in production."""
        conn = driver_connection()  # begins the session's transaction
        if conn.driver != "psycopg2":
            self.skipTest("psycopg 3 has no lobject()")
        conn.lobject(0, "wb").close()
        db.session.rollback()
        self.assertEqual(self.count_large_objects(), 0)
        large_object = driver_connection().lobject(0, "wb")
        large_object.write(b"committed")
        db.session.commit()
        self.assertEqual(self.count_large_objects(), 1)
        self.assertEqual(driver_connection().lobject(large_object.oid, "rb").read(), b"committed")

    def test_1_lo_create(self):
        oid = db.session.execute(sa.text("SELECT lo_create(0)")).scalar()
        self.assertIsNotNone(oid)
        self.assertEqual(self.count_large_objects(), 1)

    def test_1_lo_from_bytea(self):
        with autocommit_connection() as conn:
            conn.execute(sa.text("SELECT lo_from_bytea(0, 'made by a test')"))
        self.assertEqual(self.count_large_objects(), 1)

    def test_2_nothing_left(self):
        self.assertNothingLeft()


class LargeObjectLaterTests(StatementCase):
    """A later class finds no large object either."""

    def test_nothing_left(self):
        self.assertNothingLeft()


class AutocommitIndexTests(StatementCase):
    """Index statements only AUTOCOMMIT allows keep their effect, undone with the test (item 9)."""

    left_here = (0, 1, 0, 0)  # the class's own index

    @classmethod
    def setUpTestData(cls):
        db.session.execute(sa.text("CREATE INDEX stmt_class_ix ON note (item_id)"))
        db.session.commit()

    def indexes(self) -> list[str]:
        return self.session.scalars(
            sa.text("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'stmt\\_%' ORDER BY 1")
        ).all()

    def assertIndexUsed(self, name: str, column: str = "text"):
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        query = f"EXPLAIN SELECT id FROM note WHERE {column} = '1'"
        plan = "\n".join(db.session.scalars(sa.text(query)))
        self.assertIn(name, plan)

    def test_1_create_index_concurrently(self):
        with autocommit_connection() as conn:
            conn.execute(sa.text("CREATE INDEX CONCURRENTLY stmt_ix ON note (text)"))
        self.assertEqual(self.indexes(), ["stmt_class_ix", "stmt_ix"])
        self.assertIndexUsed("stmt_ix")

    def test_1_create_unique_index_concurrently_in_the_session(self):
        conn = db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        conn.execute(
            sa.text(
                "/* a comment */ create unique index concurrently if not exists stmt_ix"
                " on note (text)"
            )
        )
        db.session.commit()
        self.assertEqual(self.indexes(), ["stmt_class_ix", "stmt_ix"])

    def test_1_drop_index_concurrently(self):
        with autocommit_connection() as conn:
            conn.execute(sa.text("DROP INDEX CONCURRENTLY IF EXISTS stmt_class_ix"))
        self.assertEqual(self.indexes(), [])

    def test_1_reindex_concurrently(self):
        with autocommit_connection() as conn:
            conn.execute(sa.text("REINDEX TABLE CONCURRENTLY note"))
            conn.execute(sa.text("REINDEX INDEX CONCURRENTLY stmt_class_ix"))
            conn.execute(sa.text("REINDEX (CONCURRENTLY) TABLE note"))
            with self.assertRaises(sa.exc.ProgrammingError):  # as in production
                conn.execute(sa.text("REINDEX TABLE CONCURRENTLY no_such_table"))
            conn.execute(sa.text("SELECT 1"))  # the failure poisoned nothing
        self.assertEqual(self.indexes(), ["stmt_class_ix"])

    def test_1_not_under_autocommit(self):
        """In a transaction, PostgreSQL's own refusal, as in production."""
        with self.assertRaises(sa.exc.InternalError) as caught:
            db.session.execute(sa.text("CREATE INDEX CONCURRENTLY stmt_ix ON note (text)"))
        self.assertIn("cannot run inside a transaction block", str(caught.exception))
        db.session.rollback()
        self.assertEqual(self.indexes(), ["stmt_class_ix"])

    def test_2_nothing_left(self):
        self.assertNothingLeft()
        self.assertIndexUsed("stmt_class_ix", "item_id")


class NoOpTests(StatementCase):
    """Statements with no logical effect are no-ops that say so once (item 9)."""

    def run_noting(self, *statements: str) -> str:
        """Run ``statements`` under AUTOCOMMIT; return what they wrote to stderr."""
        buffer = io.StringIO()
        with contextlib.redirect_stderr(buffer), autocommit_connection() as conn:
            for statement in statements:
                result = conn.execute(sa.text(statement))
                self.assertFalse(result.returns_rows, statement)
        return buffer.getvalue()

    def test_vacuum(self):
        autocommit.announced.discard("VACUUM")  # said once per run: say it again here
        said = self.run_noting("VACUUM note", "VACUUM", "VACUUM (VERBOSE, ANALYZE) note")
        self.assertEqual(said.count("flask-dbtestcase: VACUUM ran as a no-op"), 1, said)
        self.assertEqual(said.count("\n"), 1, said)
        self.assertEqual(self.run_noting("VACUUM FULL note"), "")  # said once

    def test_vacuum_analyze_checks_its_tables(self):
        with autocommit_connection() as conn, self.assertRaises(sa.exc.ProgrammingError):
            conn.execute(sa.text("VACUUM ANALYZE no_such_table"))

    def test_cluster_and_reindex_database(self):
        autocommit.announced.difference_update({"CLUSTER", "REINDEX"})
        name = db.session.scalar(sa.text("SELECT current_database()"))
        said = self.run_noting("CLUSTER", f'REINDEX DATABASE "{name}"', "REINDEX SYSTEM")
        self.assertIn("flask-dbtestcase: CLUSTER of every table ran as a no-op", said)
        self.assertIn("flask-dbtestcase: REINDEX SCHEMA, DATABASE or SYSTEM ran as a no-op", said)

    def test_set_transaction_and_set_local(self):
        """Outside a transaction block they do nothing in production (PostgreSQL warns)."""
        with autocommit_connection() as conn:
            timeout = conn.execute(sa.text("SHOW statement_timeout")).scalar()
            conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"))
            conn.execute(sa.text("SET LOCAL statement_timeout = 1234"))
            self.assertEqual(conn.execute(sa.text("SHOW statement_timeout")).scalar(), timeout)
            level = conn.execute(sa.text("SHOW transaction_isolation")).scalar()
            self.assertEqual(level, "read committed")

    def test_nothing_left(self):
        self.assertNothingLeft()


class RefusedTests(StatementCase):
    """Statements whose effect outlives any transaction are refused in one paragraph (item 9)."""

    def refused(self, statement: str) -> str:
        with autocommit_connection() as conn:
            with self.assertRaises(IsolationError) as caught:
                conn.execute(sa.text(statement))
            self.assertEqual(conn.execute(sa.text("SELECT 1")).scalar(), 1)  # goes on
        message = str(caught.exception)
        self.assertEqual(self.take_refusals(), [message])  # else it fails the test at its end
        self.assertIn(repr(statement), message)
        self.assertIn("FlaskDBTransactionTestCase", message)
        self.assertIn("move the statement out of the test", message)
        self.assertNotIn("\n", message)
        return message

    def test_create_database(self):
        message = self.refused("CREATE DATABASE stmt_db")
        self.assertIn("CREATE DATABASE cannot run inside a transaction block", message)
        self.assertNothingLeft()

    def test_alter_system(self):
        self.refused("ALTER SYSTEM SET work_mem = '8MB'")
        self.assertEqual(
            run_sql(
                current_database_url(),
                "SELECT count(*) FROM pg_file_settings"
                " WHERE name = 'work_mem' AND sourcefile LIKE '%auto.conf'",
            )[0][0],
            0,
        )

    def test_drop_database(self):
        self.refused("DROP DATABASE IF EXISTS stmt_db")

    def test_nothing_left(self):
        self.assertNothingLeft()


class EnumValueTests(StatementCase):
    """An enum value added under AUTOCOMMIT is undone; using it is refused in one paragraph."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A type committed before the tests, as a schema's enum type is.
        run_sql(current_database_url(), "CREATE TYPE stmt_mood AS ENUM ('sad', 'happy')")

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            run_sql(current_database_url(), "DROP TYPE IF EXISTS stmt_mood")

    def test_1_add_value(self):
        with autocommit_connection() as conn:
            conn.execute(sa.text("ALTER TYPE stmt_mood ADD VALUE 'ecstatic'"))
        labels = self.session.scalars(
            sa.text(
                "SELECT enumlabel FROM pg_enum WHERE enumtypid = 'stmt_mood'::regtype"
                " ORDER BY enumsortorder"
            )
        )
        self.assertEqual(labels.all(), ["sad", "happy", "ecstatic"])

    def test_1_add_value_then_use_it(self):
        with autocommit_connection() as conn:
            conn.execute(sa.text("ALTER TYPE stmt_mood ADD VALUE IF NOT EXISTS 'ecstatic'"))
            with self.assertRaises(IsolationError) as caught:
                conn.execute(sa.text("SELECT 'ecstatic'::stmt_mood"))
        message = str(caught.exception)
        self.assertEqual(self.take_refusals(), [message])  # else it fails the test at its end
        self.assertIn("ADD VALUE", message)
        self.assertIn("FlaskDBTransactionTestCase", message)

    def test_2_nothing_left(self):
        self.assertNothingLeft()


class TransactionCaseTests(FlaskDBTransactionTestCase):
    """Under FlaskDBTransactionTestCase the connections are real: the statements run as written."""

    app_factory = create_app

    def test_index_and_vacuum(self):
        buffer = io.StringIO()
        with contextlib.redirect_stderr(buffer), autocommit_connection() as conn:
            conn.execute(sa.text("CREATE INDEX CONCURRENTLY stmt_real_ix ON note (text)"))
            try:
                found = run_sql(
                    current_database_url(),
                    "SELECT count(*) FROM pg_indexes WHERE indexname = 'stmt_real_ix'",
                )
                self.assertEqual(found[0][0], 1)  # really committed
                conn.execute(sa.text("VACUUM ANALYZE note"))
            finally:
                conn.execute(sa.text("DROP INDEX CONCURRENTLY IF EXISTS stmt_real_ix"))
        self.assertEqual(buffer.getvalue(), "")

    def test_create_database_is_postgresql_s(self):
        """Nothing is refused: PostgreSQL's own errors, as in production."""
        with autocommit_connection() as conn, self.assertRaises(sa.exc.DBAPIError):
            conn.execute(sa.text("ALTER SYSTEM SET no_such_setting = 1"))


if __name__ == "__main__":
    unittest.main()
