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
