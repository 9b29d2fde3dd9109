"""The first hour's wrong turns, each answered where the user sees it: a
command line option another runner spells differently, a misspelt settings
table, an app ``flask`` cannot load, a module that reads an unset variable
when it is imported, a driver SQLAlchemy wants and nobody installed.

Each test is a run of a small project, as a user starts it.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import unittest

import sqlalchemy as sa

from flask_dbtestcase import tag
from tests.support import ROOT, Project, app_source, run_database_url

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

    @tag("slow")
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


# An app package that reads its database URL when it is imported.
IMPORT_TIME_APP = """
import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

DATABASE_URL = os.environ["DATABASE_URL"]
db = SQLAlchemy()


def create_app(config=None):
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = DATABASE_URL
    app.config.update(config or {})
    db.init_app(app)
    return app
"""

IMPORTING_TESTS = """
from flask_dbtestcase import FlaskDBTestCase

from myapp import db


class UsesTheApp(FlaskDBTestCase):
    def test_app(self):
        self.assertIsNotNone(db)
"""


@tag("slow")
class ImportTimeVariableTests(unittest.TestCase):
    def project(self) -> Project:
        project = Project(
            self,
            {"pyproject.toml": '[tool.flask-dbtestcase]\napp_factory = "myapp:create_app"\n'},
            env={"DATABASE_URL": None},
            timeout=TIMEOUT,
            private_runtime=True,  # a server of its own: --parallel clones its database
        )
        for name, text in {
            "myapp/__init__.py": IMPORT_TIME_APP,
            "tests/__init__.py": "",
            "tests/test_posts.py": IMPORTING_TESTS,
            "tests/test_users.py": IMPORTING_TESTS,
            "tests/test_plain.py": PLAIN_TEST,
        }.items():
            os.makedirs(os.path.join(project.dir, os.path.dirname(name)), exist_ok=True)
            with open(os.path.join(project.dir, name), "w") as f:
                f.write(text)
        return project

    def test_said_once_in_full_and_counted_as_set_up_errors(self):
        project = self.project()
        where = os.path.join(project.dir, "myapp", "__init__.py")
        line = IMPORT_TIME_APP.splitlines().index('DATABASE_URL = os.environ["DATABASE_URL"]') + 1
        for args in ([], ["--parallel", "2"]):
            with self.subTest(args=args):
                result = project.run(args)
                self.assertEqual(result.returncode, 2, result)
                self.assertNotIn("Traceback", result.stderr)
                self.assertNotIn("KeyError", result.stderr)
                self.assertEqual(result.stderr.count("hands the test database's URL"), 1)
                self.assertIn(
                    f"ConfigurationError: Importing myapp failed: {where}:{line} reads the "
                    "environment variable DATABASE_URL (os.environ['DATABASE_URL']) when the "
                    "module is imported, and it is not set. flask-dbtestcase does not set "
                    "DATABASE_URL: it hands the test database's URL to the app factory, in the "
                    "config mapping it is given (as SQLALCHEMY_DATABASE_URI), so the tests do "
                    "not need the app's own URL. Read it when the app is created rather than "
                    "when the module is imported (in the app factory, with "
                    "os.environ.get('DATABASE_URL')), or set it for the run.",
                    result.stderr,
                )
                for module in ("tests.test_posts", "tests.test_users"):
                    self.assertIn(
                        f"ConfigurationError: Importing {module} failed for the same reason as "
                        f"importing myapp: {where}:{line} reads the environment variable "
                        "DATABASE_URL, which is not set.",
                        result.stderr,
                    )
                self.assertEqual(result.last_line, "1 passed, 0 failed, 3 errors in set-up")

    def test_set_it_and_the_tests_run(self):
        project = self.project()
        result = project.run([], env={"DATABASE_URL": "postgresql://localhost/unused"})
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(result.last_line, "3 passed, 0 failed")


# A factory whose own URL says postgresql://: SQLAlchemy 2.1 reaches it through psycopg (3).
DRIVER_APP = """
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def create_app(config=None):
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://localhost/myapp"
    app.config.update(config or {})
    db.init_app(app)
    return app


def create_app_with_a_reports_engine(config=None):
    app = create_app(config)
    app.extensions["reports"] = sa.create_engine("postgresql://localhost/reports")
    return app
"""

DRIVER_TESTS = """
from flask_dbtestcase import FlaskDBTestCase


class AppTests(FlaskDBTestCase):
    def test_app(self):
        self.assertTrue(self.app.config["TESTING"])
"""


#: The driver SQLAlchemy picks for postgresql:// (psycopg on 2.1, psycopg2 on
#: 2.0); the advice for when it is missing: its package, the other's scheme.
DEFAULT_DRIVER = sa.make_url("postgresql://").get_dialect().driver
INSTALL, LABEL, OTHER_SCHEME, OTHER = {
    "psycopg": ('"psycopg[binary]"', "psycopg (3)", "postgresql+psycopg2://", "psycopg2"),
    "psycopg2": ("psycopg2-binary", "psycopg2", "postgresql+psycopg://", "psycopg (3)"),
}[DEFAULT_DRIVER]


class MissingDriverTests(unittest.TestCase):
    """An environment without the driver SQLAlchemy picks for postgresql://
    (hidden), as ``pip install flask-dbtestcase`` alone leaves SQLAlchemy 2.1
    without psycopg (3); the tests run on the other driver."""

    ADVICE = (
        f"The app's database URL needs the {LABEL} driver, which is not installed "
        f"(SQLAlchemy {sa.__version__} uses it for postgresql:// URLs). Install it "
        f"(pip install {INSTALL}), or name the {OTHER} driver in the URL: {OTHER_SCHEME}..."
    )

    def project(self, factory: str = "myapp:create_app") -> Project:
        hidden = tempfile.mkdtemp(prefix="fdt-no-driver-")
        self.addCleanup(shutil.rmtree, hidden, True)
        with open(os.path.join(hidden, "sitecustomize.py"), "w") as f:
            f.write(f"import sys\nsys.modules[{DEFAULT_DRIVER!r}] = None  # not installed\n")
        return Project(
            self,
            {
                "myapp.py": DRIVER_APP,
                "test_app.py": DRIVER_TESTS,
                "pyproject.toml": f'[tool.flask-dbtestcase]\napp_factory = "{factory}"\n',
            },
            env={
                "PYTHONPATH": os.pathsep.join([hidden, ROOT]),
                "FLASK_DBTESTCASE_DATABASE_URL": run_database_url(),
            },
            timeout=TIMEOUT,
        )

    def test_flask_cannot_load_the_app_and_says_which_driver_to_install(self):
        result = self.project().run(["--app", "myapp", "test"], command=[FLASK])
        first = result.stderr.splitlines()[0]
        self.assertTrue(
            first.startswith("flask test: the app 'myapp' failed to load: ModuleNotFoundError"),
            result,
        )
        self.assertTrue(first.endswith(self.ADVICE), first)
        # The tests themselves run on the driver that is there.
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(result.last_line, "1 passed, 0 failed")

    def test_a_factory_that_needs_the_driver_says_which_to_install(self):
        result = self.project("myapp:create_app_with_a_reports_engine").run([])
        self.assertEqual(result.returncode, 2, result)
        self.assertIn(
            "ConfigurationError: The app factory 'myapp:create_app_with_a_reports_engine' "
            "raised ModuleNotFoundError",
            result.stderr,
        )
        line = next(
            n for n, text in enumerate(DRIVER_APP.splitlines(), 1) if "sa.create_engine" in text
        )
        self.assertIn(f"myapp.py:{line}). {self.ADVICE}\n", result.stderr)
        self.assertNotIn("Traceback", result.stderr)


if __name__ == "__main__":
    unittest.main()
