"""pytest-django's parity, run as a user runs it: pytest on small projects, in a subprocess.

Each test copies a project of tests/pytest_parity to a temporary directory
and runs pytest on it (see that folder's README): the ``flask_db`` marker's
arguments, settings found from pytest's rootdir, the app factory named by an
ini key or an option, ``--migrations`` / ``--no-migrations``, and the
request and config fixtures.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import tempfile
import unittest

from flask_dbtestcase import tag
from flask_dbtestcase.errors import ConfigurationError
from flask_dbtestcase.settings import Settings, read_pyproject
from tests.support import ROOT, Project, Result
from tests.test_plugin_inert import QUIET, copied_project

HAVE_PYTEST = importlib.util.find_spec("pytest") is not None
HAVE_PYTEST_FLASK = importlib.util.find_spec("pytest_flask") is not None
HAVE_RANDOMLY = importlib.util.find_spec("pytest_randomly") is not None


def outcomes(result: Result) -> dict[str, str]:
    """Each test's outcome in a ``-v`` run: ``{"test_x": "PASSED", ...}``."""
    found = re.findall(r"::(\w+) (PASSED|FAILED|ERROR|SKIPPED)", result.stdout)
    return dict(found)


@tag("slow")
@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed (pip install -e '.[test]')")
class MarkerTests(unittest.TestCase):
    """``@pytest.mark.flask_db`` takes pytest-django's arguments, and refuses anything else."""

    maxDiff = None

    def test_arguments_and_refusals(self):
        project = copied_project(self, "pytest_parity/marker")
        result = project.run([*QUIET, "-v"])
        found = outcomes(result)
        refused = {name for name in found if name.startswith("test_refused_")}
        self.assertEqual(
            {name: outcome for name, outcome in found.items() if name not in refused},
            {
                "test_plain_marker_is_a_db_test": "PASSED",
                "test_transaction_really_commits": "PASSED",
                "test_transaction_given_by_position": "PASSED",
                "test_db_test_moves_the_sequence_on": "PASSED",
                "test_reset_sequences": "PASSED",
                "test_databases_limits_the_test": "PASSED",
                "test_databases_listed_both": "PASSED",
                "test_bind_usable_without_the_marker": "PASSED",
                "test_serialized_rollback_is_the_case_class_attribute": "PASSED",
                "test_serialized_rollback_in_a_db_test_has_nothing_to_do": "PASSED",
                "test_shared_data": "PASSED",
            },
            result,
        )
        self.assertEqual(len(refused), 6, result)
        self.assertEqual({found[name] for name in refused}, {"ERROR"}, result)
        # Refused before the test ran, in one paragraph each, without a traceback.
        self.assertNotIn("AssertionError: ran", result.output)
        self.assertNotIn("Traceback", result.output)
        for message in (
            "@pytest.mark.flask_db(transacton=True): flask_db has no argument 'transacton' "
            "(did you mean 'transaction'?). It takes transaction, reset_sequences, databases "
            "and serialized_rollback, as pytest-django's django_db marker does.",
            "@pytest.mark.flask_db(transaction='yes'): transaction must be True or False, "
            "not 'yes'.",
            "@pytest.mark.flask_db(False, False, None, False, None): too many positional "
            "arguments.",
            "@pytest.mark.flask_db(databases='nope') names 'nope', which is not a database of "
            "the app: its databases are 'audit' and 'default'",
            "@pytest.mark.flask_db(databases=[1]): databases must be '__all__' or a list of "
            "database names",
            "test_marker_shared.py::test_refused_inside_shared_data limits its databases "
            "(@pytest.mark.flask_db(databases=...)), but it runs inside the scope of the "
            "shared data of 'module_db'",
        ):
            self.assertIn(message, result.stdout)
        self.assertIn("11 passed, 6 errors", result.stdout)


def rewrite(project: Project, name: str, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) with ``new`` in the project's file ``name``."""
    path = os.path.join(project.dir, name)
    with open(path) as f:
        text = f.read()
    assert old in text, (old, path)
    with open(path, "w") as f:
        f.write(text.replace(old, new))


@tag("slow")
@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed (pip install -e '.[test]')")
class RootdirTests(unittest.TestCase):
    """Settings from pytest's rootdir; the app factory named by an ini key or an option.

    pytest runs from the parent directory of the projects, as an IDE or a
    monorepo runs it: the current directory has no settings of its own.
    """

    def run_in_parent(self, *args: str, expected: str) -> Result:
        project = copied_project(self, "pytest_parity/rootdir")
        return project.run([*QUIET, *args], env={"EXPECTED": expected})

    def test_pyproject_at_the_rootdir(self):
        result = self.run_in_parent("pyproj/tests/test_app.py", expected="create_app")
        self.assertIn("configfile: pyproject.toml", result.stdout)
        self.assertRegex(result.stdout, r"rootdir: .*/pyproj\n")
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("1 passed", result.stdout)

    def test_the_option_wins(self):
        result = self.run_in_parent(
            "pyproj/tests", "--app-factory", "myapp:make_other", expected="make_other"
        )
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("1 passed", result.stdout)

    def test_the_ini_key_wins_over_pyproject(self):
        result = self.run_in_parent("iniproj/tests", expected="make_other")
        self.assertIn("configfile: pytest.ini", result.stdout)
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("1 passed", result.stdout)

    def test_no_factory_anywhere_names_every_place(self):
        result = self.run_in_parent("nofactory/tests", expected="create_app")
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("1 error", result.stdout)
        self.assertIn(
            "No app factory is configured, so the app fixture does not know how to create "
            "your Flask app. Name it under [tool.flask-dbtestcase] in the pyproject.toml of "
            "pytest's rootdir (app_factory = \"myapp:create_app\"), or in pytest's "
            "configuration (flask_dbtestcase_app_factory = myapp:create_app), or on the "
            "command line (--app-factory myapp:create_app)",
            result.stdout,
        )
        self.assertNotIn("Traceback", result.output)


#: The same check as pytest_parity/migrations/test_schema.py, as a test case class.
RUNNER_CASE = """
import os

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase


class SchemaTests(FlaskDBTestCase):
    def test_schema_source(self):
        tables = sa.inspect(self.session.connection()).get_table_names()
        seeded = self.session.execute(
            sa.text("SELECT count(*) FROM account WHERE email = 'system@example.com'")
        ).scalar()
        migrated = os.environ["EXPECTED_SCHEMA"] == "migrations"
        self.assertEqual("alembic_version" in tables, migrated)
        self.assertEqual(seeded, 1 if migrated else 0)
"""


@tag("slow")
@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed (pip install -e '.[test]')")
class MigrationsSwitchTests(unittest.TestCase):
    """--migrations / --no-migrations (the plugin's, the runner's) override the ``schema`` setting.

    ``check_migrations`` is a setting of pyproject.toml too.

    The project is tests/migrationsapp (its migrations seed a row that
    create_all() does not) with ``schema = "migrations"`` in pyproject.toml.
    """

    def project(self) -> Project:
        project = copied_project(self, "pytest_parity/migrations")
        shutil.copytree(
            os.path.join(ROOT, "tests", "migrationsapp"),
            os.path.join(project.dir, "migrationsapp"),
            ignore=shutil.ignore_patterns("__pycache__", "cases.py"),
        )
        return project

    def run_pytest(self, project: Project, *args: str, expected: str) -> Result:
        return project.run(
            [*QUIET, "-W", "ignore::DeprecationWarning", *args], env={"EXPECTED_SCHEMA": expected}
        )

    def assertPassed(self, result: Result) -> None:
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("1 passed", result.stdout)

    def test_no_migrations_overrides_the_setting(self):
        project = self.project()
        self.assertPassed(self.run_pytest(project, expected="migrations"))
        self.assertPassed(self.run_pytest(project, "--no-migrations", expected="create_all"))
        self.assertPassed(self.run_pytest(project, "--nomigrations", expected="create_all"))

    def test_migrations_overrides_the_default(self):
        project = self.project()
        rewrite(project, "pyproject.toml", 'schema = "migrations"\n', "")
        self.assertPassed(self.run_pytest(project, expected="create_all"))
        self.assertPassed(self.run_pytest(project, "--migrations", expected="migrations"))

    def test_the_runner_switch(self):
        project = self.project()
        with open(os.path.join(project.dir, "test_schema_case.py"), "w") as f:
            f.write(RUNNER_CASE)
        for args, expected in (
            ([], "migrations"),
            (["--no-migrations"], "create_all"),
            (["--nomigrations"], "create_all"),
        ):
            with self.subTest(args=args):
                result = project.run(
                    ["-v", "2", *args], module="flask_dbtestcase", env={"EXPECTED_SCHEMA": expected}
                )
                self.assertEqual(result.returncode, 0, result)
                self.assertIn("1 passed, 0 failed", result.output)
        rewrite(project, "pyproject.toml", 'schema = "migrations"\n', "")
        for args, expected in (([], "create_all"), (["--migrations"], "migrations")):
            with self.subTest(args=args):
                result = project.run(
                    ["-v", "2", *args], module="flask_dbtestcase", env={"EXPECTED_SCHEMA": expected}
                )
                self.assertEqual(result.returncode, 0, result)
                self.assertIn("1 passed, 0 failed", result.output)

    def test_test_case_classes_under_pytest(self):
        # A run of classes alone uses the plugin's settings once the switch is given.
        project = self.project()
        with open(os.path.join(project.dir, "test_schema_case.py"), "w") as f:
            f.write(RUNNER_CASE)
        for args, expected in (([], "migrations"), (["--no-migrations"], "create_all")):
            with self.subTest(args=args):
                result = self.run_pytest(project, *args, "test_schema_case.py", expected=expected)
                self.assertPassed(result)

    def test_check_migrations_in_pyproject(self):
        project = self.project()
        rewrite(
            project,
            os.path.join("migrationsapp", "__init__.py"),
            "    balance:",
            "    nickname: Mapped[str] = mapped_column(sa.String(40), nullable=True)\n    balance:",
        )
        # The models are ahead of the migrations: nothing says so by default ...
        self.assertPassed(self.run_pytest(project, expected="migrations"))
        # ... and check_migrations = true in pyproject.toml does.
        rewrite(
            project,
            "pyproject.toml",
            'schema = "migrations"\n',
            'schema = "migrations"\ncheck_migrations = true\n',
        )
        result = self.run_pytest(project, expected="migrations")
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("1 error", result.stdout)
        self.assertIn("The models and the migrations disagree", result.stdout)
        self.assertNotIn("does not read: check_migrations", result.output)


@tag("slow")
@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed (pip install -e '.[test]')")
class RequestFixturesTests(unittest.TestCase):
    """``make_request_ctx`` (pytest-django's ``rf``); app.config changes undone after each test."""

    def test_with_and_without_pytest_flask_in_any_order(self):
        project = copied_project(self, "pytest_parity/marker", "pytest_parity/requests")
        runs = [["-p", "no:randomly"]]
        if HAVE_RANDOMLY:
            runs += [["-p", "randomly", f"--randomly-seed={seed}"] for seed in (1, 2)]
        if HAVE_PYTEST_FLASK:
            runs += [[*run, "-p", "no:flask"] for run in runs]
        for args in runs:
            with self.subTest(args=args):
                result = project.run(["-p", "no:cacheprovider", *args, "-v", "test_requests.py"])
                self.assertEqual(result.returncode, 0, result)
                self.assertIn("7 passed", result.stdout)


class PyprojectSettingsTests(unittest.TestCase):
    """The settings pytest needs are read from pyproject.toml, with their types and paths."""

    def settings(self, table: str) -> tuple[str, Settings]:
        directory = os.path.realpath(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, directory)
        with open(os.path.join(directory, "pyproject.toml"), "w") as f:
            f.write(f"[tool.flask-dbtestcase]\n{table}")
        os.mkdir(os.path.join(directory, "tests"))
        read_pyproject.cache_clear()
        self.addCleanup(read_pyproject.cache_clear)
        return directory, Settings.load(environ={}, start=os.path.join(directory, "tests"))

    def test_check_migrations(self):
        self.assertIs(self.settings("check_migrations = true\n")[1].check_migrations, True)
        self.assertIs(self.settings("check_migrations = false\n")[1].check_migrations, False)
        self.assertIs(self.settings("")[1].check_migrations, False)

    def test_check_migrations_must_be_a_boolean(self):
        with self.assertRaises(ConfigurationError) as caught:
            self.settings('check_migrations = "yes"\n')
        self.assertIn("check_migrations under [tool.flask-dbtestcase] in ", str(caught.exception))
        self.assertIn(
            "must be true or false (a TOML boolean, without quotes), not 'yes'.",
            str(caught.exception),
        )

    def test_migrations_directory_is_relative_to_the_file(self):
        directory, settings = self.settings('migrations_directory = "db/migrations"\n')
        self.assertEqual(settings.migrations_directory, os.path.join(directory, "db", "migrations"))
        _, settings = self.settings('migrations_directory = "/srv/migrations"\n')
        self.assertEqual(settings.migrations_directory, "/srv/migrations")


if __name__ == "__main__":
    unittest.main()
