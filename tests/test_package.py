"""The distribution's metadata: one version, the license, the type information."""

from __future__ import annotations

import importlib.metadata
import os
import unittest

import flask_dbtestcase

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class PackageTests(unittest.TestCase):
    def test_one_source_for_the_version(self):
        self.assertEqual(
            importlib.metadata.version("flask-dbtestcase"), flask_dbtestcase.__version__
        )

    def test_license(self):
        metadata = importlib.metadata.metadata("flask-dbtestcase")
        self.assertEqual(metadata["License-Expression"], "BSD-3-Clause")
        with open(os.path.join(ROOT, "LICENSE")) as f:
            text = f.read()
        self.assertIn("BSD 3-Clause License", text)
        self.assertRegex(text, r"Copyright \(c\) \d{4}, the flask-dbtestcase developers")

    def test_classifiers(self):
        classifiers = importlib.metadata.metadata("flask-dbtestcase").get_all("Classifier")
        for expected in (
            "Framework :: Flask",
            "Topic :: Software Development :: Testing",
            "Programming Language :: Python :: 3.9",
            "Programming Language :: Python :: 3.13",
            "Typing :: Typed",
        ):
            self.assertIn(expected, classifiers)

    def test_typed(self):
        package_dir = os.path.dirname(flask_dbtestcase.__file__)
        self.assertTrue(os.path.isfile(os.path.join(package_dir, "py.typed")))


if __name__ == "__main__":
    unittest.main()
