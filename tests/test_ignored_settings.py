"""Settings a run ignores are named, once, in one paragraph: the runner-only
ones (TEST_DATABASE_URL, FLASK_DBTESTCASE_RUNNER) without the runner, and a
[tool.flask-dbtestcase] key that is no setting (a runner option) in any run."""

from __future__ import annotations

import unittest

from flask_dbtestcase import tag
from flask_dbtestcase.settings import Settings, ignored_settings
from tests.support import SYSTEM_SERVER, Project, app_source

TIMEOUT = 120
NOTICE = "flask-dbtestcase ignores some of the settings given:"

TESTS = """
from flask_dbtestcase import FlaskDBTestCase
from myapp import Thing


class First(FlaskDBTestCase):
    def test_empty(self):
        self.assertRowCount(Thing, 0)


class Second(FlaskDBTestCase):
    def test_empty_too(self):
        self.assertRowCount(Thing, 0)
"""

PYPROJECT = """
[tool.flask-dbtestcase]
app_factory = "myapp:create_app"
keepdb = true
"""


def project(case: unittest.TestCase, pyproject: str = PYPROJECT) -> Project:
    files = {
        "myapp.py": app_source("ignored_thing"),
        "test_things.py": TESTS,
        "pyproject.toml": pyproject,
    }
    return Project(case, files, timeout=TIMEOUT, private_runtime=True)


@tag("slow")
class WithoutTheRunnerTests(unittest.TestCase):
    def test_runner_only_settings_and_unknown_keys_are_named_once(self):
        result = project(self).run(
            [], module="unittest", env={"TEST_DATABASE_URL": f"{SYSTEM_SERVER}/postgres"}
        )
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(result.stderr.count(NOTICE), 1, result.stderr)
        self.assertIn(
            "TEST_DATABASE_URL is read by the runner only (python -m flask_dbtestcase, flask "
            "dbtest): this run, without it, ignores it and starts a throwaway PostgreSQL server",
            result.stderr,
        )
        self.assertIn("has a key flask-dbtestcase does not read: keepdb.", result.stderr)
        self.assertIn("--keepdb, --parallel", result.stderr)
        self.assertIn("Ran 2 tests", result.stderr)

    def test_nothing_ignored_nothing_said(self):
        clean = project(self, '[tool.flask-dbtestcase]\napp_factory = "myapp:create_app"\n')
        result = clean.run([], module="unittest")
        self.assertEqual(result.returncode, 0, result)
        self.assertNotIn(NOTICE, result.stderr)


@tag("slow")
class UnderTheRunnerTests(unittest.TestCase):
    def test_an_unknown_key_is_named_once(self):
        result = project(self).run(["-p", "test_*.py"])
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(result.stderr.count(NOTICE), 1, result.stderr)
        self.assertIn("keepdb", result.stderr)
        self.assertNotIn("read by the runner only", result.stderr)
        self.assertEqual(result.last_line, "2 passed, 0 failed")


class IgnoredSettingsTests(unittest.TestCase):
    def test_which_settings_each_kind_of_run_ignores(self):
        given = Settings(test_database_url="postgresql://h/db", runner="m:R")
        self.assertIsNone(ignored_settings(given, under_runner=True))
        notice = ignored_settings(given, under_runner=False)
        self.assertIn("TEST_DATABASE_URL and FLASK_DBTESTCASE_RUNNER are read by", notice)
        # A process the runner started gets the run's database: nothing is ignored.
        handed = Settings(test_database_url="postgresql://h/db", database_url="postgresql://x")
        self.assertIsNone(ignored_settings(handed, under_runner=False))
        self.assertIsNone(ignored_settings(Settings(), under_runner=False))


if __name__ == "__main__":
    unittest.main()
