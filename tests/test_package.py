"""The distribution's metadata: one version, the license, the type information."""

from __future__ import annotations

import importlib.metadata
import os
import sys
import unittest

from packaging.requirements import Requirement
from packaging.version import Version

import flask_dbtestcase

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

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

    def test_every_floor_is_tested(self):
        # make matrix installs .ci/oldest.txt: a floor raised or added in
        # pyproject.toml without its pin there would go untested.
        with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
            project = tomllib.load(f)["project"]
        pins = {}
        with open(os.path.join(ROOT, ".ci", "oldest.txt")) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    requirement = Requirement(line)
                    (spec,) = requirement.specifier
                    self.assertEqual(spec.operator, "==", line)
                    pins[requirement.name.lower()] = Version(spec.version)
        declared = list(project["dependencies"]) + list(project["optional-dependencies"]["migrate"])
        for line in declared:
            requirement = Requirement(line)
            floors = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
            with self.subTest(requirement=line):
                self.assertEqual(len(floors), 1, "every dependency has a floor")
                self.assertEqual(pins.get(requirement.name.lower()), floors[0])


if __name__ == "__main__":
    unittest.main()
