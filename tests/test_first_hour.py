"""The first hour's wrong turns, each answered where the user sees it: a
command line option another runner spells differently, a misspelt settings
table, an app ``flask`` cannot load, a module that reads an unset variable
when it is imported, a driver SQLAlchemy wants and nobody installed.

Each test is a run of a small project, as a user starts it.
"""

from __future__ import annotations

import os
import sys
import unittest

from tests.support import Project, app_source, run_database_url

TIMEOUT = 120
FLASK = os.path.join(os.path.dirname(sys.executable), "flask")

PLAIN_TEST = """
import unittest


class Plain(unittest.TestCase):
    def test_plain(self):
        pass
"""


def plain_project(case: unittest.TestCase, **files: str) -> Project:
    """A project with one plain test, on this run's database."""
    return Project(
        case,
        {"test_plain.py": PLAIN_TEST, **files},
        env={"FLASK_DBTESTCASE_DATABASE_URL": run_database_url()},
        timeout=TIMEOUT,
    )


class UnknownOptionTests(unittest.TestCase):
    def test_the_closest_option_is_suggested(self):
        project = plain_project(self)
        for given, hint in (
            ("--keep-db", "(did you mean --keepdb?)"),
            ("--paralel=2", "(did you mean --parallel?)"),
            ("-x", "(use --failfast)"),
            ("--create-db", "(not needed: the test database is created afresh on every run"),
        ):
            with self.subTest(given=given):
                result = project.run([given])
                self.assertEqual(result.returncode, 2, result)
                self.assertIn(f"error: unrecognized arguments: {given} {hint}", result.last_line)

    def test_each_of_several_unknown_options_gets_its_own(self):
        result = plain_project(self).run(["--shufle", "--frobnicate", "--keep-db"])
        self.assertEqual(result.returncode, 2, result)
        self.assertIn(
            "unrecognized arguments: --shufle --frobnicate --keep-db "
            "(--shufle: did you mean --shuffle?; --keep-db: did you mean --keepdb?)",
            result.stderr,
        )

    def test_nothing_close_nothing_suggested(self):
        result = plain_project(self).run(["--frobnicate"])
        self.assertEqual(result.returncode, 2, result)
        self.assertTrue(
            result.stderr.rstrip().endswith("error: unrecognized arguments: --frobnicate"),
            result.stderr,
        )

    def test_reuse_db_is_keepdb(self):
        # The pytest plugin's name for it: the runner takes it too.
        project = plain_project(self)
        result = project.run(["--reuse-db", "-v", "2"])
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(result.last_line, "1 passed, 0 failed")
        from flask_dbtestcase.runner import build_parser

        self.assertTrue(build_parser().parse_args(["--reuse-db"]).keepdb)
        self.assertIn("--reuse-db", build_parser().format_help())


THING_TESTS = """
from flask_dbtestcase import FlaskDBTestCase
from myapp import Thing


class ThingTests(FlaskDBTestCase):
    def test_empty(self):
        self.assertRowCount(Thing, 0)
"""


class MisspeltTableTests(unittest.TestCase):
    def project(self, table: str) -> Project:
        return Project(
            self,
            {
                "myapp.py": app_source("first_hour_thing"),
                "test_things.py": THING_TESTS,
                "pyproject.toml": f'[{table}]\napp_factory = "myapp:create_app"\n',
            },
            timeout=TIMEOUT,
            private_runtime=True,
        )

    def test_the_table_with_an_underscore_is_named_with_the_right_spelling(self):
        project = self.project("tool.flask_dbtestcase")
        result = project.run([])
        self.assertEqual(result.returncode, 2, result)
        path = os.path.join(os.path.realpath(project.dir), "pyproject.toml")
        self.assertEqual(result.stderr.count("[tool.flask_dbtestcase]"), 1, result.stderr)
        self.assertIn(
            f"flask-dbtestcase ignores some of the settings given: the table "
            f"[tool.flask_dbtestcase] in {path} is not read, so none of its settings apply: "
            "the table is spelt [tool.flask-dbtestcase], with a hyphen",
            result.stderr,
        )
        # Said first, before the error it causes.
        self.assertLess(
            result.stderr.index("[tool.flask_dbtestcase]"),
            result.stderr.index("No app factory is configured"),
        )

    def test_under_unittest_too(self):
        result = self.project("tool.flask_dbtestcase").run([], module="unittest")
        self.assertEqual(result.returncode, 1, result)
        self.assertEqual(result.stderr.count("[tool.flask_dbtestcase]"), 1, result.stderr)
        self.assertIn("the table is spelt [tool.flask-dbtestcase]", result.stderr)

    def test_the_right_spelling_says_nothing(self):
        result = self.project("tool.flask-dbtestcase").run([])
        self.assertEqual(result.returncode, 0, result)
        self.assertNotIn("ignores some of the settings", result.stderr)
        self.assertEqual(result.last_line, "1 passed, 0 failed")


if __name__ == "__main__":
    unittest.main()
