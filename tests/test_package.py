"""The distribution: one version, the license, the type information, the
floors, and an sdist that holds the whole test suite, runnable."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import unittest

from packaging.requirements import Requirement
from packaging.version import Version

import flask_dbtestcase
from flask_dbtestcase import tag
from tests.support import clean_env

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

    def test_readme_links_work_on_pypi(self):
        # PyPI renders the README away from the repository: a link to one of
        # its files must be absolute, under the Repository URL, and name a
        # file or directory that exists.
        with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
            repository = tomllib.load(f)["project"]["urls"]["Repository"]
        urls = importlib.metadata.metadata("flask-dbtestcase").get_all("Project-URL")
        self.assertIn(f"Repository, {repository}", urls)
        with open(os.path.join(ROOT, "README.md")) as f:
            targets = re.findall(r"\]\(([^)\s]+)\)", f.read())
        self.assertTrue(targets)
        for target in targets:
            with self.subTest(target=target):
                self.assertRegex(target, r"^(https?://|#)", "a relative link breaks on PyPI")
                if target.startswith(repository):
                    path = re.sub(r"^/(blob|tree)/main/", "", target[len(repository) :])
                    self.assertTrue(os.path.exists(os.path.join(ROOT, path)), path)

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


#: What the sdist holds besides the package (see MANIFEST.in), and what it leaves out.
SDIST_TREES = ("tests", "docs", "examples")
SDIST_FILES = ("README.md", "LICENSE", "CHANGELOG.md", "runtests.py", "pyproject.toml")
NOT_IN_SDIST = ("bench/", ".ci/run", "docs/_build/")
_JUNK = ("__pycache__", ".ruff_cache", ".pyc")


def _files_on_disk(tree: str) -> set[str]:
    found = set()
    for directory, dirs, files in os.walk(os.path.join(ROOT, tree)):
        dirs[:] = [d for d in dirs if d not in ("__pycache__", ".ruff_cache", "_build")]
        for name in files:
            if not name.endswith(".pyc"):
                found.add(os.path.relpath(os.path.join(directory, name), ROOT))
    return found


@tag("slow")
class SdistTests(unittest.TestCase):
    def test_the_sdist_holds_the_whole_test_suite_runnable(self):
        out = tempfile.mkdtemp()
        self.addCleanup(subprocess.run, ["rm", "-rf", out])
        build = subprocess.run(
            [sys.executable, "-m", "build", "--sdist", "--no-isolation", "-o", out, ROOT],
            capture_output=True,
            text=True,
            timeout=300,
        )
        self.assertEqual(build.returncode, 0, build.stdout + build.stderr)
        (name,) = os.listdir(out)
        with tarfile.open(os.path.join(out, name)) as archive:
            members = {m.name.split("/", 1)[1] for m in archive.getmembers() if m.isfile()}
            if sys.version_info >= (3, 12):
                archive.extractall(out, filter="data")
            else:
                archive.extractall(out)
        expected = set(SDIST_FILES)
        for tree in SDIST_TREES:
            expected |= _files_on_disk(tree)
        self.assertEqual(sorted(expected - members), [], "missing from the sdist")
        for left_out in NOT_IN_SDIST:
            self.assertEqual([m for m in members if m.startswith(left_out)], [], left_out)
        self.assertEqual([m for m in members if any(j in m for j in _JUNK)], [])
        # Runnable as it is: a few of its own tests, run from the unpacked sdist.
        unpacked = os.path.join(out, name[: -len(".tar.gz")])
        run = subprocess.run(
            [sys.executable, "runtests.py", "tests.test_junit"],
            cwd=unpacked,
            env=clean_env({"PYTHONPATH": unpacked}),
            capture_output=True,
            text=True,
            timeout=300,
        )
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertEqual(run.stderr.strip().splitlines()[-1], "5 passed, 0 failed")


if __name__ == "__main__":
    unittest.main()
