"""The Flask side as in production: tests/flaskside/suite_flaskside.py, in every mode.

The pairs run here in the project's own suite, and in subprocesses as a user
would run them: under the runner (shuffled, reversed, ``--parallel 2``),
``python -m unittest`` and pytest.
"""

from __future__ import annotations

import importlib.util
import unittest

from flask_dbtestcase import tag
from tests.flaskside.suite_flaskside import (  # noqa: F401  (run here too)
    ClassConfigTestsA,
    ClassConfigTestsB,
    ClientInClassHooksTests,
    ExplicitMirrorTests,
    FlaskSideTests,
    TransactionFlaskSideTests,
)
from tests.support import RunnerOrders

LABEL = "tests.flaskside.suite_flaskside"
HAVE_PYTEST = importlib.util.find_spec("pytest") is not None


@tag("slow")
class ModesTests(RunnerOrders, unittest.TestCase):
    """The suite passes however it is run (each run its own process)."""

    label = LABEL

    def test_unittest(self):
        self.run_suite(LABEL, module="unittest")

    @unittest.skipUnless(HAVE_PYTEST, "pytest is in the test extra")
    def test_pytest(self):
        self.run_suite(
            "-q", "-p", "no:cacheprovider", "tests/flaskside/suite_flaskside.py", module="pytest"
        )
