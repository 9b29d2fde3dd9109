"""Large objects and AUTOCOMMIT-only statements: tests/statements/suite_statements.py, in every
order and on the other driver too; and what the statement reader makes of each statement.

The pairs run here in the project's own suite (on the run's driver), and in
subprocesses under the runner: reversed, shuffled, with ``--parallel 2``,
and with each driver named in ``FLASK_DBTESTCASE_DRIVER``.
"""

from __future__ import annotations

import unittest

from tests.statements.suite_statements import (  # noqa: F401  (run here too)
    LargeObjectFirstTests,
    LargeObjectLaterTests,
    LargeObjectTests,
)
from tests.support import ROOT, Project, RunnerOrders

LABEL = "tests.statements.suite_statements"


class StatementModesTests(RunnerOrders, unittest.TestCase):
    """The suite passes however it is run (each run its own process), on both drivers."""

    label = LABEL

    def check_run(self, result):
        self.assertNotIn("got past the test transaction", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_each_driver(self):
        for driver in ("psycopg2", "psycopg"):
            with self.subTest(driver=driver):
                project = Project(self, directory=ROOT, timeout=120)
                result = project.run(
                    [self.label, "--noinput", "--shuffle"],
                    env={"FLASK_DBTESTCASE_DRIVER": driver},
                )
                self.assertEqual(result.returncode, 0, result)
                # psycopg 3 has no lobject(): its two tests are skipped, and only there.
                skipped = "skipped=2" if driver == "psycopg" else "OK\n"
                self.assertIn(skipped, result.stderr)
                self.check_run(result)


if __name__ == "__main__":
    unittest.main()
