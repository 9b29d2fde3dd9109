"""Large objects and AUTOCOMMIT-only statements: tests/statements/suite_statements.py, in every
order and on the other driver too; and what the statement reader makes of each statement.

The pairs run here in the project's own suite (on the run's driver), and in
subprocesses under the runner: reversed, shuffled, with ``--parallel 2``,
and with each driver named in ``FLASK_DBTESTCASE_DRIVER``; and under pytest,
in random order on each driver and with ``-n 2``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import unittest

from flask_dbtestcase import tag
from flask_dbtestcase.isolation.autocommit import NO_OP, AutocommitStatements, announced
from tests.statements.suite_statements import (  # noqa: F401  (run here too)
    AutocommitIndexTests,
    EnumValueTests,
    LargeObjectFirstTests,
    LargeObjectLaterTests,
    LargeObjectTests,
    NoOpTests,
    RefusedTests,
    TransactionCaseTests,
)
from tests.support import ROOT, Project, RunnerOrders

LABEL = "tests.statements.suite_statements"
SUITE = "tests/statements/suite_statements.py"
HAVE_PYTEST = importlib.util.find_spec("pytest") is not None
HAVE_XDIST = importlib.util.find_spec("xdist") is not None
#: The drivers this environment has (make matrix's oldest leg has psycopg2 only;
#: make drivers runs every test on both).
DRIVERS = [name for name in ("psycopg2", "psycopg") if importlib.util.find_spec(name)]


@tag("slow")
class StatementModesTests(RunnerOrders, unittest.TestCase):
    """The suite passes however it is run (each run its own process), on both drivers."""

    label = LABEL

    def check_run(self, result):
        self.assertNotIn("got past the test transaction", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_each_driver(self):
        for driver in DRIVERS:
            with self.subTest(driver=driver):
                project = Project(self, directory=ROOT, timeout=120)
                result = project.run(
                    [self.label, "--noinput", "--shuffle"],
                    env={"FLASK_DBTESTCASE_DRIVER": driver},
                )
                self.assertEqual(result.returncode, 0, result)
                # psycopg 3 has no lobject(): its two tests are skipped, and only there.
                skipped = "skipped=2" if driver == "psycopg" else "OK\n"
                self.assertIn(skipped, result.stderr)
                self.check_run(result)


@tag("slow")
@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed")
class StatementPytestTests(unittest.TestCase):
    """The suite passes under pytest too: random order (pytest-randomly) on each driver, xdist."""

    def run_pytest(self, *args: str, driver: str | None = None) -> None:
        project = Project(self, directory=ROOT, module="pytest", timeout=180)
        env = {"FLASK_DBTESTCASE_DRIVER": driver} if driver else None
        result = project.run([SUITE, "-p", "no:cacheprovider", "-q", *args], env=env)
        self.assertEqual(result.returncode, 0, result)
        self.assertIn(" passed", result.stdout)

    def test_random_order_on_each_driver(self):
        for driver in DRIVERS:
            with self.subTest(driver=driver):
                self.run_pytest(driver=driver)

    @unittest.skipUnless(HAVE_XDIST, "pytest-xdist is not installed")
    def test_xdist(self):
        self.run_pytest("-n", "2")


#: Statement -> what goes to the server under AUTOCOMMIT.
SENT = {
    "CREATE INDEX CONCURRENTLY ix ON thing (name)": "CREATE INDEX ix ON thing (name)",
    (
        " -- made by a migration\n/* ok */ create unique index\nconcurrently"
        " if not exists ix on t (a)"
    ): "create unique index\nif not exists ix on t (a)",
    "DROP INDEX CONCURRENTLY IF EXISTS ix": "DROP INDEX IF EXISTS ix",
    "REINDEX TABLE CONCURRENTLY thing": "REINDEX TABLE thing",
    "REINDEX (VERBOSE, CONCURRENTLY) INDEX ix": "REINDEX (VERBOSE) INDEX ix",
    "REINDEX (CONCURRENTLY) TABLE thing": "REINDEX TABLE thing",
    "ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY": "ALTER TABLE p DETACH PARTITION p1",
    "VACUUM": NO_OP,
    "VACUUM FULL thing": NO_OP,
    "VACUUM (ANALYZE false) thing": NO_OP,
    "VACUUM ANALYZE thing, other (a)": "ANALYZE thing, other (a)",
    "vacuum (verbose, analyze) thing;": "ANALYZE thing",
    "CLUSTER": NO_OP,
    "CLUSTER VERBOSE;": NO_OP,
    "REINDEX DATABASE app": NO_OP,
    "REINDEX SYSTEM": NO_OP,
    "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE": NO_OP,
    "set local statement_timeout = 5": NO_OP,
}

#: Statements sent as they are, under AUTOCOMMIT too.
AS_THEY_ARE = [
    "SELECT 1",
    "INSERT INTO thing (name) VALUES ('create index concurrently')",
    "CREATE TABLE thing (name text)",
    "CREATE INDEX ix ON thing (name)",
    "REINDEX TABLE thing",
    "CLUSTER thing USING ix",
    "ANALYZE thing",
    "CREATE DATABASE other",  # refused by the server, then named (RefusedTests)
    "ALTER TYPE mood ADD VALUE 'x'",
    "vacuumed",
    "SELECT 1; VACUUM",
    "VACUUM note; SELECT 1",  # several statements: PostgreSQL's own answer
    "SET statement_timeout = 5",
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    "SET TRANSACTION SNAPSHOT '00000003-0000001B-1'",
]


class StatementReaderTests(unittest.TestCase):
    """What AutocommitStatements.statement sends for each statement (no database)."""

    def setUp(self):
        self.statements = AutocommitStatements()
        self.statements.asked = True
        stderr = contextlib.redirect_stderr(io.StringIO())
        stderr.__enter__()
        self.addCleanup(stderr.__exit__, None, None, None)

    def test_rewritten(self):
        for statement, sent in SENT.items():
            with self.subTest(statement=statement):
                self.assertEqual(self.statements.statement(statement), sent)
                self.assertEqual(self.statements.statement(statement.encode()), sent.encode())

    def test_as_they_are(self):
        for statement in AS_THEY_ARE:
            with self.subTest(statement=statement):
                self.assertIs(self.statements.statement(statement), statement)

    def test_notice_once_per_run(self):
        announced.discard("CLUSTER")
        buffer = io.StringIO()
        with contextlib.redirect_stderr(buffer):
            self.statements.statement("CLUSTER")
            self.statements.statement("CLUSTER VERBOSE")
        lines = buffer.getvalue().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].startswith("flask-dbtestcase: CLUSTER of every table"), lines)


if __name__ == "__main__":
    unittest.main()
