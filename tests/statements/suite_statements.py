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
import typing as t
import unittest

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase
from flask_dbtestcase.cases.testdb import current_database_url
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


if __name__ == "__main__":
    unittest.main()
