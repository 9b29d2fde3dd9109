"""The pytest plugin beside pytest-flask, and the test request context without it.

Each test copies tests/pytest_flask_project to a temporary directory and
runs pytest on it in a subprocess, in random order. Its conftest checks,
after each test, that no request context is left and, at the end of each
module, that no app context is: the contexts of both plugins were pushed
and popped in order. ``OWN_APP=1`` gives it a conftest ``app`` fixture built
on ``flask_dbtestcase_config``.

- With pytest-flask: pytest-flask's ``config``, ``accept_json`` and
  ``@pytest.mark.options`` work on the plugin's app, and its request context
  is the one the tests run in (the plugin pushes none of its own).
- A conftest ``app`` fixture that keeps an app context pushed for the
  session: it stays under every test's contexts and is popped last.
- Without pytest-flask (``-p no:flask``): a test that uses ``app``, ``db`` or
  ``client`` runs in the plugin's test request context, so ``url_for()``
  works; ``@pytest.mark.no_request_context`` keeps a test out of it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import unittest

from flask_dbtestcase import tag
from tests.support import Result
from tests.test_plugin_inert import assert_passed, copied_project

HAVE_PYTEST = importlib.util.find_spec("pytest") is not None
HAVE_RANDOMLY = importlib.util.find_spec("pytest_randomly") is not None
HAVE_PYTEST_FLASK = importlib.util.find_spec("pytest_flask") is not None

PROJECT = "pytest_flask_project"
#: Runs on both apps (the plugin's, a conftest one) and in two orders.
RUNS = [(own_app, seed) for own_app in ("0", "1") for seed in ("1", "2")]


@tag("slow")
@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed (pip install -e '.[test]')")
@unittest.skipUnless(HAVE_RANDOMLY, "pytest-randomly is not installed")
class BesidePytestFlaskTests(unittest.TestCase):
    maxDiff = None

    def run_project(self, *args: str, own_app: str, seed: str) -> Result:
        project = copied_project(self, PROJECT)
        return project.run(
            ["-p", "no:cacheprovider", "-p", "randomly", f"--randomly-seed={seed}", "-v", *args],
            env={"OWN_APP": own_app},
        )

    def assertPytestFlask(self, result: Result, loaded: bool) -> None:
        plugins = re.search(r"^plugins: (.*)$", result.output, re.MULTILINE)
        self.assertIsNotNone(plugins, result)
        self.assertIn("flask-dbtestcase", plugins.group(1))
        self.assertEqual(re.search(r"\bflask-\d", plugins.group(1)) is not None, loaded)

    @unittest.skipUnless(HAVE_PYTEST_FLASK, "pytest-flask is not installed")
    def test_with_pytest_flask(self):
        for own_app, seed in RUNS:
            with self.subTest(own_app=own_app, seed=seed):
                result = self.run_project(
                    "test_pytest_flask.py",
                    "test_shared_data.py",
                    "test_request_context.py",
                    own_app=own_app,
                    seed=seed,
                )
                self.assertPytestFlask(result, loaded=True)
                assert_passed(self, result, 16)

    def test_without_pytest_flask(self):
        for own_app, seed in RUNS:
            with self.subTest(own_app=own_app, seed=seed):
                result = self.run_project(
                    "-p",
                    "no:flask",
                    "test_request_context.py",
                    "test_no_request_context.py",
                    "test_shared_data.py",
                    own_app=own_app,
                    seed=seed,
                )
                self.assertPytestFlask(result, loaded=False)
                assert_passed(self, result, 8)


#: A conftest app fixture that keeps an app context pushed for the whole session.
SESSION_CONTEXT = """
import pytest

from myapp import create_app


@pytest.fixture(scope="session")
def app(flask_dbtestcase_config):
    app = create_app(flask_dbtestcase_config)
    with app.app_context():
        yield app
"""


@tag("slow")
@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed (pip install -e '.[test]')")
class SessionContextTests(unittest.TestCase):
    """An app context a session fixture pushed stays under every test's, popped last."""

    maxDiff = None

    def test_a_session_app_fixture_that_pushes_an_app_context(self):
        project = copied_project(self, PROJECT)
        with open(os.path.join(project.dir, "conftest.py"), "w") as f:
            f.write(SESSION_CONTEXT)
        files = ["test_shared_data.py", "test_request_context.py"]
        runs = [[]] + ([["-p", "no:flask"]] if HAVE_PYTEST_FLASK else [])
        for args in runs:
            with self.subTest(args=args):
                result = project.run(["-p", "no:cacheprovider", "-p", "no:randomly", *args, *files])
                assert_passed(self, result, 5)


if __name__ == "__main__":
    unittest.main()
