"""The live servers: tests/live/suite_live.py, in every order the runner has.

The pairs run here in the project's own suite, and in subprocesses under the
runner, reversed, shuffled and with ``--parallel 2`` (a server per worker).
"""

from __future__ import annotations

import unittest

from flask_dbtestcase import tag
from tests.live.suite_live import (  # noqa: F401  (run here too)
    LaterLiveTests,
    RolledBackLiveTests,
    TransactionLiveTests,
)
from tests.support import RunnerOrders


@tag("slow")
class LiveModesTests(RunnerOrders, unittest.TestCase):
    """The suite passes however it is run (each run its own process)."""

    label = "tests.live.suite_live"

    def check_run(self, result):
        self.assertIn("Ran 8 tests", result.stderr)
