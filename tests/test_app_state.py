"""What the app keeps between tests: ``app.config`` put back, the rest reset by a hook.

tests/appstate/suite_config.py (nested config values changed in place) and
suite_cache.py (a cache-like extension filled from a rolled-back row, reset
by ``reset_app_state``) run here in the project's suite, and in subprocesses
under the runner shuffled, reversed and with ``--parallel 2``;
tests/appstate/pytest_project runs the same pairs under pytest, in file
order and reversed. tests/appstate/persists.py shows what persists without
the hook.
"""

from __future__ import annotations

import importlib.util
import os
import unittest

from flask_dbtestcase import tag
from tests.appstate import persists
from tests.appstate.suite_cache import (  # noqa: F401  (run here too)
    CacheResetTests,
    ClassCacheResetTests,
    LaterCacheResetTests,
    TransactionCacheResetTests,
)
from tests.appstate.suite_config import (  # noqa: F401  (run here too)
    ClassHookConfigTests,
    ConfigCase,
    LaterConfigTests,
    TransactionConfigTests,
)
from tests.support import ROOT, Project, RunnerOrders

HAVE_PYTEST = importlib.util.find_spec("pytest") is not None

PYTEST_PROJECT = os.path.join(ROOT, "tests", "appstate", "pytest_project")
#: Plugins that would change the order or the output.
QUIET = ["-p", "no:cacheprovider", "-p", "no:randomly"]
#: Its test modules.
PYTEST_MODULES = ("test_config.py", "test_config_shared.py", "test_cache.py", "test_cache_class.py")


def project_files(*names: str) -> dict[str, str]:
    """The pytest project's conftest, settings and the test modules ``names``."""
    files = {}
    for name in ("conftest.py", "pyproject.toml", *names):
        with open(os.path.join(PYTEST_PROJECT, name)) as f:
            files[name] = f.read()
    return files


@tag("slow")
class ConfigModesTests(RunnerOrders, unittest.TestCase):
    """The config pairs pass however the runner orders them (each run its own process)."""

    label = "tests.appstate.suite_config"


@tag("slow")
class CacheModesTests(RunnerOrders, unittest.TestCase):
    """The cache pairs pass however the runner orders them: the hook resets after each test."""

    label = "tests.appstate.suite_cache"


class WithoutTheHookTests(unittest.TestCase):
    """Documented behaviour: without the hook, extension state persists between tests."""

    def test_a_cache_keeps_a_rolled_back_row(self):
        loader = unittest.TestLoader()
        suite = loader.loadTestsFromTestCase(persists.PersistingCacheTests)  # in file order
        result = unittest.TestResult()
        suite.run(result)
        self.assertEqual(result.testsRun, 2)
        self.assertEqual(result.failures + result.errors, [], result)


@tag("slow")
@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed (pip install -e '.[test]')")
class PytestAppStateTests(unittest.TestCase):
    """Under pytest: nested config values put back, a cache reset by an autouse fixture."""

    def test_file_order_and_reversed(self):
        files = project_files(*PYTEST_MODULES)
        project = Project(self, files, module="pytest", timeout=300)
        for reverse in ("0", "1"):
            with self.subTest(reverse=reverse):
                result = project.run(["-v", *QUIET], env={"REVERSE": reverse})
                self.assertEqual(result.returncode, 0, result)
                self.assertIn("13 passed", result.output)
