"""What the app keeps between tests: ``app.config`` put back, in every order.

tests/appstate/suite_config.py (nested config values changed in place) runs
here in the project's suite, and in subprocesses under the runner shuffled,
reversed and with ``--parallel 2``; tests/appstate/pytest_project runs the
same pairs under pytest, in file order and reversed.
"""

from __future__ import annotations

import importlib.util
import os
import unittest

from tests.appstate.suite_config import (  # noqa: F401  (run here too)
    ClassHookConfigTests,
    ConfigCase,
    LaterConfigTests,
    TransactionConfigTests,
)
from tests.support import ROOT, Project, Result, RunnerOrders

HAVE_PYTEST = importlib.util.find_spec("pytest") is not None

PYTEST_PROJECT = os.path.join(ROOT, "tests", "appstate", "pytest_project")
#: Plugins that would change the order or the output.
QUIET = ["-p", "no:cacheprovider", "-p", "no:randomly"]


def project_files(*names: str) -> dict[str, str]:
    """The pytest project's conftest, settings and the test modules ``names``."""
    files = {}
    for name in ("conftest.py", "pyproject.toml", *names):
        with open(os.path.join(PYTEST_PROJECT, name)) as f:
            files[name] = f.read()
    return files


class ConfigModesTests(RunnerOrders, unittest.TestCase):
    """The config pairs pass however the runner orders them (each run its own process)."""

    label = "tests.appstate.suite_config"


@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed (pip install -e '.[test]')")
class PytestConfigTests(unittest.TestCase):
    """Under pytest: the plugin's fixtures and a test case class put nested values back."""

    def run_pytest(self, project: Project, reverse: str) -> Result:
        result = project.run(["-v", *QUIET], env={"REVERSE": reverse})
        return result

    def test_file_order_and_reversed(self):
        project = Project(
            self,
            project_files("test_config.py", "test_config_shared.py"),
            module="pytest",
            timeout=300,
        )
        for reverse in ("0", "1"):
            with self.subTest(reverse=reverse):
                result = self.run_pytest(project, reverse)
                self.assertEqual(result.returncode, 0, result)
                self.assertIn("8 passed", result.output)
