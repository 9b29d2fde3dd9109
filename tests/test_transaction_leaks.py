"""What a FlaskDBTransactionTestCase test leaves (tests/transactional/suite_transactional.py).

The pairs run here in the project's own suite, and in subprocesses under the
runner, reversed, shuffled and with ``--parallel 2``.
"""

from __future__ import annotations

import unittest

from flask_dbtestcase import tag
from tests.support import RunnerOrders
from tests.transactional.suite_transactional import (  # noqa: F401  (run here too)
    CreatedObjectTests,
    EmptiedTests,
    LaterSavepointTests,
    SeededTests,
    SequenceTests,
    SessionLeakTests,
)


@tag("slow")
class TransactionLeakOrdersTests(RunnerOrders, unittest.TestCase):
    """The suite passes however it is run (each run its own process)."""

    label = "tests.transactional.suite_transactional"
