"""Escapes from the test transaction: tests/escapes/suite_escapes.py, in every order.

The pairs run here in the project's own suite, and in subprocesses under the
runner, reversed, shuffled and with ``--parallel 2``.
"""

from __future__ import annotations

import unittest

from tests.escapes.suite_escapes import (  # noqa: F401  (run here too)
    AutocommitTests,
    EscapedTests,
    FailedBeforeTheServerTests,
    FirstStatementFailsTests,
    PlumbingErrorTests,
    RefusedStatementTests,
    SessionStateTests,
    TransactionCommitsTests,
    UncheckedWriteTests,
    UnpinnedWriteTests,
)
from tests.support import ROOT, Project

LABEL = "tests.escapes.suite_escapes"


class EscapeModesTests(unittest.TestCase):
    """The suite passes however it is run (each run its own process)."""

    def run_suite(self, *args: str) -> None:
        result = Project(self, directory=ROOT, timeout=120).run([LABEL, "--noinput", *args])
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("got past the test transaction", result.stderr)

    def test_shuffled(self):
        self.run_suite("--shuffle")

    def test_reversed(self):
        self.run_suite("--reverse")

    def test_parallel(self):
        self.run_suite("--parallel", "2")
