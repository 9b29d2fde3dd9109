"""Threads of the app on the shared connection: tests/threads/suite_threads.py, in every order.

The pairs run here in the project's own suite, and in subprocesses under the
runner, reversed, shuffled and with ``--parallel 2``.
"""

from __future__ import annotations

import unittest

from tests.support import ROOT, Project, RunnerOrders
from tests.threads.suite_threads import (  # noqa: F401  (run here too)
    DeadlockTests,
    LaterThreadsTests,
    LostSavepointTests,
    NestedThreadsTests,
    OverlappingThreadsTests,
    SequentialThreadsTests,
)

LABEL = "tests.threads.suite_threads"


class ThreadModesTests(RunnerOrders, unittest.TestCase):
    """The suite passes however it is run (each run its own process)."""

    label = LABEL

    def check_run(self, result):
        self.assertIn("Ran 14 tests", result.stderr)


class LateThreadModesTests(RunnerOrders, unittest.TestCase):
    """26.2: a thread that outlives its test never writes into another, in every order."""

    label = "tests.threads.suite_late"

    def check_run(self, result):
        self.assertIn("Ran 6 tests", result.stderr)


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


class UnseenRefusalTests(unittest.TestCase):
    """The test fails: a refusal the app caught, a thread left in a transaction."""

    def test_both_fail(self):
        result = Project(self, directory=ROOT, timeout=120).run(
            ["tests.threads.suite_caught", "--noinput"], module="flask_dbtestcase"
        )
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("FAILED (errors=3)", result.stderr)
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
