"""The mistakes of a new user's first hour, each answered specifically.

Every answer is one paragraph in plain words: what went wrong, what to do.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
import unittest
from unittest import mock

from flask_dbtestcase.errors import ConfigurationError
from flask_dbtestcase.settings import Settings, read_pyproject

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class PyprojectTests(unittest.TestCase):
    """A pyproject.toml that cannot be read is an error, not a silent {}."""

    def project(self, text: str) -> str:
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory)
        with open(os.path.join(directory, "pyproject.toml"), "w") as f:
            f.write(text)
        read_pyproject.cache_clear()
        self.addCleanup(read_pyproject.cache_clear)
        return directory

    def test_malformed_pyproject(self):
        directory = self.project('[tool.flask-dbtestcase]\napp_factory = "myapp:create_app\n')
        with self.assertRaises(ConfigurationError) as caught:
            Settings.load(environ={}, start=directory)
        message = str(caught.exception)
        path = os.path.join(os.path.realpath(directory), "pyproject.toml")
        self.assertIn(path, message)
        self.assertIn("is not valid TOML", message)
        self.assertIn("line 2", message)
        self.assertIn("Fix the file", message)
        self.assertNotIn("\n", message)

    def test_no_toml_parser(self):
        directory = self.project('[tool.flask-dbtestcase]\napp_factory = "myapp:create_app"\n')
        with mock.patch.dict(sys.modules, {"tomllib": None, "tomli": None}):
            with self.assertRaises(ConfigurationError) as caught:
                Settings.load(environ={}, start=directory)
        message = str(caught.exception)
        self.assertIn(os.path.join(os.path.realpath(directory), "pyproject.toml"), message)
        self.assertIn("has no TOML parser", message)
        self.assertIn("pip install tomli", message)
        self.assertNotIn("\n", message)
        read_pyproject.cache_clear()
        self.assertEqual(Settings.load(environ={}, start=directory).app_factory, "myapp:create_app")

    def test_tomli_is_a_dependency_before_python_3_11(self):
        parser = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
        with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
            dependencies = parser.load(f)["project"]["dependencies"]
        self.assertIn("tomli>=1.1; python_version < '3.11'", dependencies)
