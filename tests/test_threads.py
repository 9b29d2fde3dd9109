"""Threads of the app on the shared connection: tests/threads/suite_threads.py, in every order.

The pairs run here in the project's own suite, and in subprocesses under the
runner, reversed, shuffled and with ``--parallel 2``.
"""

from __future__ import annotations

import importlib.util
import unittest

from flask_dbtestcase import tag
from tests.support import ROOT, Project, RunnerOrders, app_source
from tests.threads.suite_threads import (  # noqa: F401  (run here too)
    DeadlockTests,
    LaterThreadsTests,
    LostSavepointTests,
    NestedThreadsTests,
    OverlappingThreadsTests,
    SequentialThreadsTests,
)

LABEL = "tests.threads.suite_threads"


@tag("slow")
class ThreadModesTests(RunnerOrders, unittest.TestCase):
    """The suite passes however it is run (each run its own process)."""

    label = LABEL

    def check_run(self, result):
        self.assertIn("Ran 14 tests", result.stderr)


@tag("slow")
class LateThreadModesTests(RunnerOrders, unittest.TestCase):
    """26.2: a thread that outlives its test never writes into another, in every order."""

    label = "tests.threads.suite_late"

    def check_run(self, result):
        self.assertIn("Ran 6 tests", result.stderr)


@tag("slow")
class LateThreadReportTests(unittest.TestCase):
    """26.2: the test a late thread is refused in fails, naming the thread and its test."""

    def run_report(self, *args: str):
        result = Project(self, directory=ROOT, timeout=120).run(
            ["tests.threads.suite_late_report", "--noinput", *args], module="flask_dbtestcase"
        )
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("FAILED (errors=1)", result.stderr)
        self.assertIn("ERROR: test_2_is_not_polluted_but_fails", result.stderr)
        self.assertIn(
            "A thread started by tests.threads.suite_late_report.ReportTests."
            "test_1_starts_a_worker ('late-worker') is still using the test database "
            "after its test ended",
            result.stderr,
        )
        self.assertNotIn("AssertionError", result.stderr)  # nothing of it landed in test_2
        return result

    def test_reported(self):
        self.run_report()

    def test_reported_in_a_parallel_worker(self):
        self.run_report("--parallel", "2")


# A pytest project: test_1 starts a worker committing every 20 ms in its own
# app context and returns; test_2, and a test in a later module, see no row
# of it, on the db fixture's session and on a separate real connection.
LATE_APP = app_source(
    "fdt_late_thing",
    extra="""
import threading, time

def separate_count(url):
    import sqlalchemy
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM fdt_late_thing")).scalar()

class LateWorker(threading.Thread):
    refused = []
    committed = threading.Event()

    def __init__(self, app):
        super().__init__(name="late-worker", daemon=True)
        self.app = app

    def run(self):
        with self.app.app_context():
            for n in range(3000):
                try:
                    db.session.add(Thing(name=f"late-{n}"))
                    db.session.commit()
                    LateWorker.committed.set()
                except Exception as exc:
                    db.session.rollback()
                    LateWorker.refused.append(exc)
                time.sleep(0.02)
""",
)
LATE_TESTS = """
import time
from flask_dbtestcase.cases.testdb import current_database_url
from myapp import LateWorker, Thing, separate_count

def test_1_starts_a_worker(db, app):
    LateWorker(app).start()
    assert LateWorker.committed.wait(30)

def test_2_sees_nothing_of_it(db):
    seen = len(LateWorker.refused)
    deadline = time.monotonic() + 30
    while len(LateWorker.refused) == seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert db.session.query(Thing).count() == 0
    url = current_database_url().render_as_string(hide_password=False)
    assert separate_count(url) == 0
    print("NOT POLLUTED", flush=True)
"""


@tag("slow")
@unittest.skipUnless(importlib.util.find_spec("pytest"), "pytest is not installed")
class LateThreadPytestTests(unittest.TestCase):
    """26.2 under pytest: test_2 is not polluted, and fails naming the worker."""

    def test_reported_under_pytest(self):
        files = {
            "myapp.py": LATE_APP,
            "pyproject.toml": '[tool.flask-dbtestcase]\napp_factory = "myapp:create_app"\n',
            "test_late.py": LATE_TESTS,
        }
        project = Project(self, files, module="pytest", timeout=120)
        result = project.run(["-p", "no:randomly", "-p", "no:cacheprovider", "-v", "-s"])
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("NOT POLLUTED", result.output)
        self.assertIn("test_1_starts_a_worker PASSED", result.output)
        self.assertIn("test_late.py::test_2_sees_nothing_of_it ERROR", result.output)
        self.assertIn("('late-worker') is still using the test database", result.output)
        self.assertIn("2 passed, 1 error", result.output)  # test_2's teardown


@tag("slow")
class UnseenRefusalTests(unittest.TestCase):
    """The test fails: a refusal the app caught, a thread left in a transaction."""

    def test_both_fail(self):
        result = Project(self, directory=ROOT, timeout=120).run(
            ["tests.threads.suite_caught", "--noinput"], module="flask_dbtestcase"
        )
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("FAILED (errors=4)", result.stderr)
        self.assertIn("'CREATE DATABASE caught_db'", result.stderr)
        self.assertIn("even if the app caught the error", result.stderr)
        self.assertIn(
            "Thread 'catcher' rolled back a transaction inside which thread "
            "'committer' had committed",
            result.stderr,
        )
        self.assertIn(
            "The test ended while the live server was still serving POST /slow?s=2", result.stderr
        )
        self.assertIn(
            "The test ended while thread 'lingering' still had a transaction open", result.stderr
        )
