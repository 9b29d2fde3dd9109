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


if __name__ == "__main__":
    unittest.main()
