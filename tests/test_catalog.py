"""What other connections leave that the watch cannot see (issue 26, item 14).

The pairs in tests/catalog/suite_leftovers.py run here and, in
subprocesses, shuffled, reversed and with ``--parallel 2``: the class that
left a table, a moved sequence and a large object is named once, and no
later class sees any of it. Here too: the catalog's reading of the
database, and the run's end, which names what a FlaskDBTransactionTestCase
left.
"""

from __future__ import annotations

import importlib.util
import unittest

import sqlalchemy as sa

from flask_dbtestcase import tag
from flask_dbtestcase.cases.testdb import current_database_url
from flask_dbtestcase.databases.catalog import (
    Catalog,
    check_statement,
    cleanup_statements,
    differences,
    take_catalog,
)
from tests.catalog.suite_leftovers import (  # noqa: F401  (run here too)
    AnotherLaterTests,
    LaterTests,
    LeftBehindTests,
    OrdinaryTests,
)
from tests.support import Project, RunnerOrders, run_sql

LABEL = "tests.catalog.suite_leftovers"


@tag("slow")
class LeftoverOrdersTests(RunnerOrders, unittest.TestCase):
    """The suite passes however it is run; the warning names the class once."""

    label = LABEL

    def check_run(self, result):
        # Each class checks its own end's warning (and hides it): none is left over.
        self.assertNotIn("flask-dbtestcase: warning", result.stderr)
        self.assertNotIn("left behind", result.stderr)


class CatalogTests(unittest.TestCase):
    """The catalog and its check, on the run's test database through a connection of its own."""

    def setUp(self):
        self.url = current_database_url()
        self.engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        self.addCleanup(self.engine.dispose)
        self.addCleanup(
            run_sql,
            self.url,
            "DROP TABLE IF EXISTS fdt_probe_new; DROP SEQUENCE IF EXISTS fdt_probe_seq",
        )

    def check(self, before: Catalog):
        with self.engine.begin() as conn:
            return differences(before, conn.exec_driver_sql(check_statement(before)).all())

    def test_new_table_sequence_and_large_object_found_then_removed(self):
        run_sql(self.url, "CREATE SEQUENCE fdt_probe_seq")
        run_sql(self.url, "SELECT nextval('fdt_probe_seq')")
        with self.engine.begin() as conn:
            before = take_catalog(conn)
        assert before is not None
        self.assertFalse(self.check(before), "nothing new yet")
        run_sql(self.url, "CREATE TABLE fdt_probe_new (id serial PRIMARY KEY)")
        run_sql(self.url, "SELECT setval('fdt_probe_seq', 42)")
        oid = run_sql(self.url, "SELECT lo_create(0)")[0][0]
        found = self.check(before)
        self.assertEqual(
            found.relations, (("fdt_probe_new", "r"),), "its own sequence is not named"
        )
        self.assertEqual(found.sequences, (("fdt_probe_seq", 1, 42),))
        self.assertEqual(found.large_objects, (oid,))
        self.assertEqual(
            found.describe(),
            "table fdt_probe_new (created outside the models), sequence "
            "fdt_probe_seq moved from 1 to 42, 1 large object",
        )
        with self.engine.begin() as conn:
            conn.exec_driver_sql(";\n".join(cleanup_statements(found)))
        self.assertFalse(self.check(before), "removed")
        self.assertEqual(run_sql(self.url, "SELECT last_value FROM fdt_probe_seq")[0][0], 1)

    def test_a_sequence_this_session_moved_is_not_named(self):
        run_sql(self.url, "CREATE SEQUENCE fdt_probe_seq")
        with self.engine.begin() as conn:
            before = take_catalog(conn)
            assert before is not None
            conn.exec_driver_sql("SELECT nextval('fdt_probe_seq')")
            found = differences(before, conn.exec_driver_sql(check_statement(before)).all())
        self.assertFalse(found, found)
        self.assertTrue(self.check(before).sequences, "another session's check names it")


#: The generated suites' way to the test database past the framework: a raw connection.
OUTSIDE = """
def outside(statement):
    url = current_database_url()
    args = url.translate_connect_args(username="user", database="dbname")
    args.update(url.query)
    conn = psycopg2.connect(**args)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()
"""

RUN_END_SUITE = (
    """
import unittest

import psycopg2
import sqlalchemy as sa
from flask_dbtestcase import FlaskDBTestCase
from flask_dbtestcase.cases.testdb import current_database_url
from myapp import create_app, db


"""
    + OUTSIDE
    + """

class Uses(FlaskDBTestCase):
    app_factory = create_app

    def test_reads(self):
        self.assertEqual(db.session.execute(sa.text("SELECT 1")).scalar(), 1)


class Leaves(unittest.TestCase):  # not a class of the package: no class end checks it
    def test_creates_a_table(self):
        outside("CREATE TABLE fdt_left_at_the_end (x int)")
"""
)


class RunEndTests(unittest.TestCase):
    """What no class end checked is named and removed at the run's end."""

    def test_leftover_of_a_plain_test_named_at_the_end(self):
        from tests.support import app_source

        project = Project(
            self, {"myapp.py": app_source("fdt_end_thing"), "test_leaves.py": RUN_END_SUITE}
        )
        result = project.run_here(
            ["--noinput"], env={"FLASK_APP": "myapp:create_app"}, own_database=True
        )
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("left behind in the test database", result.output)
        self.assertIn("table fdt_left_at_the_end (created outside the models)", result.output)
        self.assertEqual(result.output.count("fdt_left_at_the_end"), 1, result)


PYTEST_SUITE = (
    """
import psycopg2
import sqlalchemy as sa
from flask_dbtestcase.cases.testdb import current_database_url


"""
    + OUTSIDE
    + """

def test_leaves_a_table(db):
    db.session.execute(sa.text("SELECT 1"))
    outside("CREATE TABLE fdt_pytest_outside (x int)")
"""
)


@tag("slow")
@unittest.skipUnless(importlib.util.find_spec("pytest"), "pytest is not installed")
class PytestLeftoverTests(unittest.TestCase):
    """Under pytest the shared case's end names and removes it, once.

    Function tests share one case until a test of another kind or the
    session's end: that is where it is checked (no check per test).
    """

    def test_named_once_at_the_end(self):
        from tests.support import app_source

        files = {
            "myapp.py": app_source("fdt_pytest_left"),
            "test_leaves.py": PYTEST_SUITE,
            "pyproject.toml": '[tool.flask-dbtestcase]\napp_factory = "myapp:create_app"\n',
        }
        result = Project(self, files, module="pytest", timeout=300).run(
            ["-q", "-p", "no:cacheprovider"]
        )
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(
            result.output.count("fdt_pytest_outside (created outside the models)"), 1, result
        )
        # The plugin's shared case of the db fixture ended with the session.
        self.assertIn("warning: the db fixture left behind in the test database", result.output)


ESCAPE_THEN_LEAK = (
    """
import psycopg2
import sqlalchemy as sa
from flask_dbtestcase import FlaskDBTestCase
from flask_dbtestcase.cases.testdb import current_database_url
from myapp import create_app, db


"""
    + OUTSIDE
    + """

class AEscapesAtItsEnd(FlaskDBTestCase):
    app_factory = create_app

    @classmethod
    def setUpTestData(cls):
        db.session.execute(sa.text("SELECT 1"))

    def test_writes_past_the_test_connection(self):
        outside("INSERT INTO fdt_end_escape (name) VALUES ('escaped')")


class BLeavesATable(FlaskDBTestCase):
    app_factory = create_app

    def test_leaves_a_table(self):
        db.session.execute(sa.text("SELECT 1"))
        outside("CREATE TABLE fdt_after_an_escape (x int)")
"""
)


class AfterAnEscapeTests(unittest.TestCase):
    """A class-end escape does not silence what the next class leaves behind."""

    def test_next_class_still_named(self):
        from tests.support import app_source

        project = Project(
            self, {"myapp.py": app_source("fdt_end_escape"), "test_both.py": ESCAPE_THEN_LEAK}
        )
        result = project.run_here(
            ["--noinput"], env={"FLASK_APP": "myapp:create_app"}, own_database=True
        )
        self.assertIn("got past the test transaction", result.output, result)
        self.assertIn("BLeavesATable left behind in the test database", result.output, result)
