"""Escapes from the test transaction: tests/escapes/suite_escapes.py, in every order.

The pairs run here in the project's own suite, and in subprocesses under the
runner, reversed, shuffled and with ``--parallel 2``.
"""

from __future__ import annotations

import unittest

from flask_dbtestcase import tag
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
from tests.support import RunnerOrders

LABEL = "tests.escapes.suite_escapes"


@tag("slow")
class EscapeModesTests(RunnerOrders, unittest.TestCase):
    """The suite passes however it is run (each run its own process)."""

    label = LABEL

    def check_run(self, result):
        # Each test that gets past the test transaction captures and checks the
        # warning its end prints (suite_escapes.escape_warning): none is left over.
        self.assertNotIn("flask-dbtestcase: warning", result.stderr)
        self.assertNotIn("got past the test transaction", result.stderr)
