"""pytest: a test that writes through a raw connection and sends no statement fails, named.

tests/pytest_escape is the project: its test_2 commits a row through a raw
psycopg2 connection and sends nothing through the app; the others check,
on the test connection and on a separate real one, that the table is empty.
Run as a user runs it (pytest in a subprocess), with the escaping test last,
in the middle, alone (its case sent nothing before it) and followed by a
test that sends nothing: it must be reported as an error at its teardown,
named by its node id, the run must exit non-zero, and the tests after it
must see no row.
"""

from __future__ import annotations

import importlib.util
import os
import unittest

from flask_dbtestcase import tag
from tests.support import ROOT, Project, Result

HAVE_PYTEST = importlib.util.find_spec("pytest") is not None

PROJECT = os.path.join(ROOT, "tests", "pytest_escape")
#: Plugins that would change the order or the output.
QUIET = ["-p", "no:cacheprovider", "-p", "no:randomly"]
ESCAPING = "test_escape.py::test_2_escapes"


def project_files() -> dict[str, str]:
    files = {}
    for name in ("conftest.py", "pyproject.toml", "test_escape.py", "test_escape_shared.py"):
        with open(os.path.join(PROJECT, name)) as f:
            files[name] = f.read()
    return files


@tag("slow")
@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed (pip install -e '.[test]')")
class EscapeUnderPytestTests(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls) -> None:
        cls.files = project_files()

    def run_pytest(self, *args: str, reverse: str = "0", module: str = "test_escape.py") -> Result:
        project = Project(self, self.files, module="pytest", timeout=300)
        return project.run(["-v", *QUIET, *args, module], env={"REVERSE": reverse})

    def assertEscapeReported(self, result: Result, passed: int, escaping: str = ESCAPING) -> None:
        """The escaping test errors at its teardown, named; every test passes (itself too,
        as pytest counts a test whose teardown errors); the run exits 1."""
        self.assertEqual(result.returncode, 1, result)
        self.assertIn(f"ERROR at teardown of {escaping.partition('::')[2]}", result.output)
        self.assertIn(f"{escaping} wrote to the test database through a connection", result.output)
        self.assertIn("INSERT into appstate_gadget", result.output)
        self.assertIn(f"{passed} passed", result.output)
        self.assertIn("1 error", result.output)
        self.assertNotIn("failed", result.output)  # the tests after it saw no row
        self.assertNotIn("error while cleaning up", result.output)
        self.assertNotIn("__init__", result.output)

    def test_last(self):
        result = self.run_pytest("-k", "test_1 or test_2")
        self.assertEscapeReported(result, passed=2)

    def test_in_the_middle(self):
        # test_3 and test_4 come after it: they see no row, on either connection.
        self.assertEscapeReported(self.run_pytest(), passed=4)

    def test_reversed(self):
        # test_1 (which sends statements) comes after it.
        self.assertEscapeReported(self.run_pytest(reverse="1"), passed=4)

    def test_alone(self):
        # Nothing was sent in its case before it: the check begins the transaction.
        self.assertEscapeReported(self.run_pytest("-k", "test_2"), passed=1)

    def test_in_the_scope_of_module_db(self):
        result = self.run_pytest(module="test_escape_shared.py")
        escaping = "test_escape_shared.py::test_b_escapes"
        self.assertEscapeReported(result, passed=3, escaping=escaping)
        self.assertIn("The shared data of 'module_db' was rolled back with it", result.output)

    def test_followed_by_a_test_that_sends_nothing(self):
        self.assertEscapeReported(self.run_pytest("-k", "test_2 or test_4"), passed=2)
