"""Threads of the app on the shared connection: tests/threads/suite_threads.py, in every order.

The pairs run here in the project's own suite, and in subprocesses under the
runner, reversed, shuffled and with ``--parallel 2``.
"""

from __future__ import annotations

import unittest

from tests.support import RunnerOrders
from tests.threads.suite_threads import (  # noqa: F401  (run here too)
    LaterThreadsTests,
    NestedThreadsTests,
    OverlappingThreadsTests,
    SequentialThreadsTests,
)

LABEL = "tests.threads.suite_threads"


class ThreadModesTests(RunnerOrders, unittest.TestCase):
    """The suite passes however it is run (each run its own process)."""

    label = LABEL

    def check_run(self, result):
        self.assertIn("Ran 11 tests", result.stderr)
