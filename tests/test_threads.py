"""Threads of the app on the shared connection: tests/threads/suite_threads.py, in every order.

The pairs run here in the project's own suite, and in subprocesses under the
runner, reversed, shuffled and with ``--parallel 2``.
"""

from __future__ import annotations

import unittest

from tests.support import ROOT, Project
from tests.threads.suite_threads import (  # noqa: F401  (run here too)
    LaterThreadsTests,
    NestedThreadsTests,
    OverlappingThreadsTests,
    SequentialThreadsTests,
)

LABEL = "tests.threads.suite_threads"


class ThreadModesTests(unittest.TestCase):
    """The suite passes however it is run (each run its own process)."""

    def run_suite(self, *args: str) -> None:
        result = Project(self, directory=ROOT, timeout=120).run([LABEL, "--noinput", *args])
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("Ran 11 tests", result.stderr)

    def test_shuffled(self):
        self.run_suite("--shuffle")

    def test_reversed(self):
        self.run_suite("--reverse")

    def test_parallel(self):
        self.run_suite("--parallel", "2")
