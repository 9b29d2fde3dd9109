"""The watch on the test database (issue 12, item 7): where it is installed, what it logs.

The escape pairs themselves (a write through an unpinned connection, named
at the test's end or its class's) are in tests/escapes/suite_escapes.py.
Here: the trigger comes with the tables, and a kept database made without
it is rebuilt; only unpinned connections are logged; the real commits of a
FlaskDBTransactionTestCase blame no later test; and ``--keepdb`` drops a
database a test committed to instead of keeping it.
"""

from __future__ import annotations

import functools
import os
import shutil
import typing as t
import unittest

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase, FlaskDBTransactionTestCase, tag
from flask_dbtestcase.cases.appcache import pins_of
from flask_dbtestcase.cases.testdb import current_database_url, ensure_run
from flask_dbtestcase.databases.schema import RECORD_TABLE, ensure_tables, fingerprint
from flask_dbtestcase.databases.watch import LOG_TABLE, pinned_options
from flask_dbtestcase.isolation.protocol import TransactionStatus
from tests.escapes.suite_escapes import escape_warning
from tests.sampleapp import Item, create_app, db
from tests.support import Project, dsn, run_sql, scratch_dir

PROBE = "fdt_watch_probe"
TRIGGERS = (
    "SELECT count(*) FROM pg_trigger WHERE tgname = 'flask_dbtestcase_watch'"
    f" AND tgrelid = to_regclass('{PROBE}')"
)
PROBE_LOG = f"SELECT count(*) FROM {LOG_TABLE} WHERE relation = '{PROBE}'"


def probe_metadata(*extra_columns: sa.Column) -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table(PROBE, metadata, sa.Column("id", sa.Integer, primary_key=True), *extra_columns)
    return metadata


class WatchInstallTests(unittest.TestCase):
    def setUp(self):
        self.url = current_database_url()
        self.engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        self.addCleanup(self.engine.dispose)
        self.addCleanup(self.drop_probe)

    def drop_probe(self):
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {PROBE}"))
            conn.execute(sa.text(f"DELETE FROM {RECORD_TABLE} WHERE tables = '{PROBE}'"))
            # What this test logged must not be blamed on a later test.
            conn.execute(sa.text(f"DELETE FROM {LOG_TABLE} WHERE relation = '{PROBE}'"))

    def sql(self, statement: str):
        return run_sql(self.url, statement)[0][0]

    def test_tables_get_the_trigger_and_a_kept_database_without_it_is_rebuilt(self):
        self.assertTrue(ensure_tables(self.engine, probe_metadata(), set()))
        self.assertEqual(self.sql(TRIGGERS), 1)
        # As an earlier version of flask-dbtestcase left a kept database: no trigger.
        plain = fingerprint(probe_metadata(), self.engine.dialect)
        run_sql(self.url, f"DROP TRIGGER flask_dbtestcase_watch ON {PROBE}")
        run_sql(self.url, f"UPDATE {RECORD_TABLE} SET fingerprint = '{plain}'")
        self.assertTrue(ensure_tables(self.engine, probe_metadata(), set()))
        self.assertEqual(self.sql(TRIGGERS), 1)
        self.assertFalse(ensure_tables(self.engine, probe_metadata(), set()))
        self.assertEqual(self.sql(TRIGGERS), 1)

    def test_only_writes_past_a_pinned_connection_are_logged(self):
        ensure_tables(self.engine, probe_metadata(), set())
        run_sql(self.url, f"INSERT INTO {PROBE} (id) VALUES (1)")
        run_sql(self.url, f"UPDATE {PROBE} SET id = 2 WHERE false")  # no row: still a write
        self.assertEqual(self.sql(PROBE_LOG), 2)
        # A connection opened as the pinned one is: its writes are not logged.
        import psycopg2

        pinned = psycopg2.connect(**pinned_options(dsn(self.url)))
        try:
            with pinned, pinned.cursor() as cur:
                cur.execute(f"INSERT INTO {PROBE} (id) VALUES (3)")
                cur.execute(f"DELETE FROM {PROBE}")
                cur.execute(f"TRUNCATE {PROBE}")
        finally:
            pinned.close()
        self.assertEqual(self.sql(PROBE_LOG), 2)
        run_sql(self.url, f"TRUNCATE {PROBE}")
        self.assertEqual(self.sql(PROBE_LOG), 3)


class TransactionCaseThenTestCaseTests(unittest.TestCase):
    """A FlaskDBTransactionTestCase's commits are meant: the next FlaskDBTestCase passes."""

    def test_real_commits_blame_no_later_test(self):
        class Commits(FlaskDBTransactionTestCase):
            app_factory = create_app

            def test_commits(self):
                db.session.add(Item(name="committed"))
                db.session.commit()

        class After(FlaskDBTestCase):
            app_factory = create_app

            def test_touches_the_database(self):
                self.assertRowCount(Item, 0)

        loader = unittest.TestLoader()
        suite = unittest.TestSuite(
            [loader.loadTestsFromTestCase(Commits), loader.loadTestsFromTestCase(After)]
        )
        result = unittest.TestResult()
        suite.run(result)
        self.assertEqual((result.errors, result.failures), ([], []))
        self.assertEqual(result.testsRun, 2)


class ClassThatSentNothingTests(unittest.TestCase):
    """A class that sends no statement sends none at its end: the next check names its write."""

    def test_the_next_check_names_the_unchecked_test(self):
        class Reads(FlaskDBTestCase):  # the engine's first connection sends the dialect's
            app_factory = create_app  # questions: here, not in SendsNothing (whatever ran before)

            def test_reads(self):
                self.assertRowCount(Item, 0)

        class SendsNothing(FlaskDBTestCase):
            app_factory = create_app

            def test_writes_elsewhere(self):  # a connection of its own, really committing
                run_sql(current_database_url(), "INSERT INTO item (name) VALUES ('unchecked')")

        class Next(FlaskDBTestCase):
            app_factory = create_app

            def test_touches_the_database(self):
                self.assertRowCount(Item, 1)  # READ COMMITTED: it sees the leaked row

        loader = unittest.TestLoader()
        suite = unittest.TestSuite(
            [loader.loadTestsFromTestCase(cls) for cls in (Reads, SendsNothing, Next)]
        )
        result = unittest.TestResult()
        with escape_warning(Next("test_touches_the_database").id()):  # checked, not shown
            suite.run(result)
        self.assertEqual(result.failures, [])
        blamed = [test.id() for test, _ in result.errors]
        self.assertEqual(blamed, [Next("test_touches_the_database").id()])
        message = result.errors[0][1]
        self.assertIn("really committed: INSERT into item", message)
        self.assertIn("SendsNothing.test_writes_elsewhere", message)  # named as a possible source
        self.assertEqual(run_sql(current_database_url(), "SELECT count(*) FROM item")[0][0], 0)


class EmptyTestSendsNothingTests(unittest.TestCase):
    """With the watch on, an empty test still sends nothing, at its end or its class's."""

    def run_classes(self, *classes: type) -> unittest.TestResult:
        loader = unittest.TestLoader()
        suite = unittest.TestSuite([loader.loadTestsFromTestCase(c) for c in classes])
        result = unittest.TestResult()
        suite.run(result)
        self.assertEqual((result.errors, result.failures), ([], []))
        return result

    def test_empty_test_and_class(self):
        class Warm(FlaskDBTestCase):
            app_factory = create_app

            def test_touches_the_database(self):
                self.assertRowCount(Item, 0)

        class Empty(FlaskDBTestCase):
            app_factory = create_app

            def test_nothing(self):
                pass

        self.run_classes(Warm)  # the shared connection exists, with its watch
        pins = pins_of(ensure_run().databases)
        connections = [c for c in pins.connections() if c.watch is not None and not c.closed]
        self.assertTrue(connections, "no watched shared connection")
        sent: list[str] = []
        for conn in connections:
            for name in ("send_plumbing", "cursor", "real_commit"):
                original = getattr(conn, name)
                setattr(conn, name, functools.partial(_spy, sent, name, original))
                self.addCleanup(delattr, conn, name)
            # The class's end rolls back; out of a transaction the driver sends nothing.
            rollback = conn.real_rollback
            conn.real_rollback = functools.partial(_spy_rollback, sent, conn, rollback)
            self.addCleanup(delattr, conn, "real_rollback")
        self.run_classes(Empty)
        self.assertEqual(sent, [])
        self.assertTrue(
            any("Empty.test_nothing" in n for c in connections for n in c.watch.unchecked)
        )


def _spy(sent: list[str], name: str, original: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
    sent.append(name)
    return original(*args, **kwargs)


def _spy_rollback(sent: list[str], conn: t.Any, original: t.Any) -> None:
    if conn.transaction_status != TransactionStatus.IDLE:
        sent.append(f"real_rollback in {conn.transaction_status!r}")
    original()


KEEP_SUITE = """
import os

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase
from flask_dbtestcase.cases.testdb import current_database_url
from tests.sampleapp import create_app, db
from tests.support import run_sql


class Keep(FlaskDBTestCase):
    app_factory = create_app

    def test_record(self):
        oid = db.session.execute(
            sa.text("SELECT oid FROM pg_database WHERE datname = current_database()")
        ).scalar()
        with open(os.environ["WATCH_RECORD"], "a") as f:
            f.write(f"{oid}\\n")
        if os.environ["ESCAPE"] == "1":  # a connection of its own, really committing
            run_sql(current_database_url(), "INSERT INTO item (name) VALUES ('kept?')")
"""


@tag("slow")
class KeepdbDropTests(unittest.TestCase):
    """--keepdb keeps no database a test committed to (items 2 and 7): it is dropped at the end."""

    def test_an_escaped_database_is_dropped_then_a_clean_one_kept(self):
        cache = scratch_dir("fdtw-", 0o755)  # reachable by the server user when root
        self.addCleanup(shutil.rmtree, cache, True)
        project = Project(
            self, {"suite_watch_keep.py": KEEP_SUITE}, private_runtime=True, cache=cache
        )
        record = os.path.join(project.dir, "record.txt")

        def run(escape: str):
            env = {"WATCH_RECORD": record, "ESCAPE": escape}
            result = project.run(["suite_watch_keep", "--keepdb", "-v", "2"], env=env)
            with open(record) as f:
                return result, int(f.read().split()[-1])

        escaped, oid1 = run("1")
        self.assertEqual(escaped.returncode, 1, escaped.output)
        self.assertIn("really committed: INSERT into item", escaped.stderr)
        self.assertRegex(escaped.output, r"not keeping test_\w+: a test committed to it")
        clean, oid2 = run("0")
        self.assertEqual(clean.returncode, 0, clean.output)
        self.assertNotEqual(oid2, oid1)  # a new database: the marked one was dropped
        kept, oid3 = run("0")
        self.assertEqual(kept.returncode, 0, kept.output)
        self.assertEqual(oid3, oid2)  # nothing escaped: kept
