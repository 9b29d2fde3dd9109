"""The pytest plugin is inert until asked: a project's own fixtures win and are left alone.

Each test copies small projects of tests/pytest_inert to a temporary
directory and runs pytest on them in a subprocess, with flask-dbtestcase
installed (its plugin loaded, as the header of the run shows):

- cookiecutter-flask's fixtures (its own ``app`` and ``db`` on in-memory
  SQLite) and a project's own PostgreSQL ``db`` / ``session`` fixtures:
  every test passes, and nothing of the plugin is built or started;
- a pytest-flask project on its own app: pytest-flask's fixtures are used;
- a project's ``db`` that wraps the plugin's: the plugin's savepoint applies;
- a suite half moved over (a folder and a module on their own fixtures, the
  other modules on the plugin's), in random order and under pytest-xdist.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import tempfile
import unittest

from flask_dbtestcase import tag
from tests.support import ROOT, SYSTEM_SERVER, Project, Result, server_available, system_sql

HAVE_PYTEST = importlib.util.find_spec("pytest") is not None
HAVE_XDIST = importlib.util.find_spec("xdist") is not None
HAVE_RANDOMLY = importlib.util.find_spec("pytest_randomly") is not None
HAVE_WEBTEST = importlib.util.find_spec("webtest") is not None
HAVE_PYTEST_FLASK = importlib.util.find_spec("pytest_flask") is not None

#: Plugins that would change the order or the output, unless a test asks for them.
QUIET = ["-p", "no:cacheprovider", "-p", "no:randomly"]


def copied_project(case: unittest.TestCase, *folders: str, **kwargs) -> Project:
    """A project made of the files of ``folders`` (under tests/), copied to a temporary directory.

    :param case: the test; it removes the directory at its end.
    :param folders: folders under tests/, copied one over the other.
    """
    directory = tempfile.mkdtemp(prefix="fdt-project-")
    case.addCleanup(shutil.rmtree, directory, True)
    for folder in folders:
        shutil.copytree(
            os.path.join(ROOT, "tests", folder),
            directory,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__", "README.md"),
        )
    return Project(case, directory=directory, module="pytest", timeout=300, **kwargs)


def assert_plugin_loaded(case: unittest.TestCase, result: Result) -> None:
    """The run's header lists flask-dbtestcase among the plugins: it was installed and active."""
    plugins = re.search(r"^plugins: (.*)$", result.output, re.MULTILINE)
    case.assertIsNotNone(plugins, result)
    case.assertIn("flask-dbtestcase", plugins.group(1), result)


def assert_passed(case: unittest.TestCase, result: Result, count: int) -> None:
    """Exactly ``count`` tests ran, and all passed (no failure, error or skip)."""
    case.assertEqual(result.returncode, 0, result)
    summary = result.stdout.rstrip().splitlines()[-1]
    case.assertRegex(summary, rf"=+ {count} passed(, \d+ warnings?)? in ", result)


@tag("slow")
@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed (pip install -e '.[test]')")
class OwnFixturesTests(unittest.TestCase):
    """Projects on their own fixtures pass as they do without the plugin."""

    maxDiff = None

    @unittest.skipUnless(HAVE_WEBTEST, "WebTest is not installed (pip install -e '.[test]')")
    def test_cookiecutter_flask_fixtures_on_sqlite(self):
        project = copied_project(self, "pytest_inert/shop", "pytest_inert/cookiecutter")
        result = project.run([*QUIET, "-v"])
        assert_plugin_loaded(self, result)
        assert_passed(self, result, 8)

    @unittest.skipUnless(server_available(), f"no PostgreSQL server at {SYSTEM_SERVER}")
    def test_own_postgresql_fixtures(self):
        name = f"test_fdt_own_{os.getpid()}"
        self.addCleanup(system_sql, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        project = copied_project(self, "pytest_inert/shop", "pytest_inert/own_postgres")
        env = {"OWN_SERVER_URL": SYSTEM_SERVER, "OWN_DATABASE": name}
        result = project.run([*QUIET, "-v"], env=env)
        assert_plugin_loaded(self, result)
        assert_passed(self, result, 6)
        # The project dropped its database: the plugin held no connection to it.
        self.assertEqual(system_sql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"), [])

    @unittest.skipUnless(HAVE_PYTEST_FLASK, "pytest-flask is not installed")
    def test_a_pytest_flask_project_on_its_own_app(self):
        project = copied_project(self, "pytest_inert/shop", "pytest_inert/flask_own")
        result = project.run([*QUIET, "-v"])
        assert_plugin_loaded(self, result)
        assert_passed(self, result, 6)

    def test_a_db_fixture_that_wraps_the_plugins(self):
        project = copied_project(self, "pytest_inert/shop", "pytest_inert/wrapped")
        result = project.run([*QUIET, "-v"])
        assert_passed(self, result, 3)


@tag("slow")
@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed (pip install -e '.[test]')")
@unittest.skipUnless(HAVE_WEBTEST, "WebTest is not installed (pip install -e '.[test]')")
class MovingOverTests(unittest.TestCase):
    """Modules on the project's own fixtures and modules on the plugin's, in one run."""

    maxDiff = None
    #: The mixed project's tests: 5 on its own fixtures, 5 on the plugin's.
    TESTS = 10

    def project(self) -> Project:
        return copied_project(self, "pytest_inert/shop", "pytest_inert/mixed")

    def test_in_file_order(self):
        result = self.project().run([*QUIET, "-v"])
        assert_plugin_loaded(self, result)
        assert_passed(self, result, self.TESTS)

    @unittest.skipUnless(HAVE_RANDOMLY, "pytest-randomly is not installed")
    def test_in_random_order(self):
        project = self.project()
        for seed in ("1", "2", "3"):
            with self.subTest(seed=seed):
                args = ["-p", "no:cacheprovider", "-p", "randomly", f"--randomly-seed={seed}"]
                result = project.run([*args, "-v"])
                self.assertIn(f"--randomly-seed={seed}", result.output)
                assert_passed(self, result, self.TESTS)

    @unittest.skipUnless(HAVE_XDIST, "pytest-xdist is not installed")
    @unittest.skipUnless(HAVE_RANDOMLY, "pytest-randomly is not installed")
    def test_under_xdist_in_random_order(self):
        args = ["-p", "no:cacheprovider", "-p", "randomly", "--randomly-seed=4", "-n", "2"]
        result = self.project().run([*args, "-v"])
        assert_passed(self, result, self.TESTS)
        self.assertIn("[gw0] ", result.output)
        self.assertIn("[gw1] ", result.output)


if __name__ == "__main__":
    unittest.main()
