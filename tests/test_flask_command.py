"""``flask test`` never shadows an app's own ``test`` command; ``flask dbtest`` is always ours.

Each run is a ``flask`` process of its own, in a scratch project whose app
``flask`` finds as it finds any app: ``app.py`` or ``wsgi.py`` in the current
directory, or ``--app``.
"""

from __future__ import annotations

import os
import sys
import unittest

from flask_dbtestcase import tag
from tests.support import Project, run_database_url

FLASK = os.path.join(os.path.dirname(sys.executable), "flask")
PATTERN = ["-p", "suite_*.py"]

# An app with a `test` command of its own, as Flasky and cookiecutter-flask define one.
OWN_TEST_APP = '''
import click
from flask import Flask


def create_app(config=None):
    app = Flask(__name__)
    app.config.update(config or {})

    @app.cli.command("test")
    @click.argument("names", nargs=-1)
    @click.option("--coverage/--no-coverage", default=False)
    def test(names, coverage):
        """Run the unit tests (the app's own command)."""
        click.echo(f"APP OWN TEST names={list(names)} coverage={coverage}")

    return app
'''

PLAIN_APP = """
from flask import Flask


def create_app(config=None):
    app = Flask(__name__)
    app.config.update(config or {})
    return app
"""

# An app that fails to load: it reads a variable the environment does not have.
BROKEN_APP = """
import os

from flask import Flask

SECRET_KEY = os.environ["FDT_FLASK_TEST_UNSET"]


def create_app(config=None):
    return Flask(__name__)
"""

SUITE = """
import unittest

from flask_dbtestcase.state import current_run


class Env(unittest.TestCase):
    def test_print_factory(self):
        print(f"APP_FACTORY={current_run().settings.factory_spec}")
"""


@tag("slow")
class FlaskTestCommandTests(unittest.TestCase):
    def project(self, **files: str) -> Project:
        return Project(
            self,
            {**files, "suite_env.py": SUITE},
            env={"FLASK_DBTESTCASE_DATABASE_URL": run_database_url()},
        )

    def test_the_apps_own_test_command_wins(self):
        project = self.project(**{"app.py": OWN_TEST_APP})
        result = project.run(["test", "users", "--coverage"], command=[FLASK])
        self.assertEqual(result.returncode, 0, str(result))
        self.assertIn("APP OWN TEST names=['users'] coverage=True", result.stdout)
        self.assertNotIn("passed", result.stdout + result.stderr)
        self.assertIn("'flask dbtest'", result.stderr)  # where ours is

    def test_dbtest_is_always_the_runner(self):
        project = self.project(**{"app.py": OWN_TEST_APP})
        result = project.run(["dbtest", *PATTERN], command=[FLASK])
        self.assertEqual(result.returncode, 0, str(result))
        self.assertNotIn("APP OWN TEST", result.stdout)
        self.assertIn("APP_FACTORY=app", result.stdout)  # found as flask finds it
        self.assertEqual(result.last_line, "1 passed, 0 failed")
        help_ = project.run(["dbtest", "--help"], command=[FLASK])
        self.assertIn("usage: flask dbtest", help_.stdout)

    def test_flask_test_is_the_runner_when_the_app_has_no_test_command(self):
        project = self.project(**{"wsgi.py": PLAIN_APP})
        result = project.run(["test", *PATTERN], command=[FLASK])
        self.assertEqual(result.returncode, 0, str(result))
        self.assertIn("APP_FACTORY=wsgi", result.stdout)
        self.assertEqual(result.last_line, "1 passed, 0 failed")
        listed = project.run(["--help"], command=[FLASK])
        self.assertIn("dbtest", listed.stdout)
        self.assertIn("test", listed.stdout)

    def test_app_option_names_the_app(self):
        project = self.project(**{"myapp.py": OWN_TEST_APP, "app.py": PLAIN_APP})
        own = project.run(["--app", "myapp", "test", "x"], command=[FLASK])
        self.assertIn("APP OWN TEST names=['x']", own.stdout, str(own))
        ours = project.run(["--app", "myapp:create_app", "dbtest", *PATTERN], command=[FLASK])
        self.assertIn("APP_FACTORY=myapp:create_app", ours.stdout, str(ours))

    def test_an_app_that_fails_to_load_is_named_before_the_runner_runs(self):
        project = self.project(**{"app.py": BROKEN_APP})
        result = project.run(["test", *PATTERN], command=[FLASK])
        self.assertEqual(result.returncode, 0, str(result))
        where = os.path.join(project.dir, "app.py")
        self.assertEqual(
            result.stderr.splitlines()[0],
            f"flask test: the app 'app' failed to load: KeyError: 'FDT_FLASK_TEST_UNSET' "
            f"(at {where}:6), so its own 'test' command, if it has one, cannot run; running "
            "flask-dbtestcase's runner (flask dbtest), whose test classes build the app "
            "themselves.",
        )
        self.assertEqual(result.stderr.count("failed to load"), 1)
        self.assertNotIn("Traceback", result.stderr)
        self.assertEqual(result.last_line, "1 passed, 0 failed")

    def test_no_app_at_all_is_not_a_failure_to_load(self):
        result = self.project().run(["test", *PATTERN], command=[FLASK])
        self.assertEqual(result.returncode, 0, str(result))
        self.assertNotIn("failed to load", result.stderr)
        self.assertEqual(result.last_line, "1 passed, 0 failed")


if __name__ == "__main__":
    unittest.main()
