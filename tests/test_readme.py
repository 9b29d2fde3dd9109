"""The README's quick start runs as written.

Every code block of the quick start whose first line names a file
(``# myapp/models.py``) is written to a new project directory, and the tests
are run the ways the README lists: the runner, ``flask --app myapp test``,
``python -m unittest`` and pytest. Its install line installs the driver
SQLAlchemy picks for the app's own ``postgresql://`` URL, so the app runs
as an app too.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import shlex
import sys
import unittest

import sqlalchemy as sa
from packaging.requirements import Requirement

from flask_dbtestcase import tag
from tests.support import ROOT, Project

HAVE_PYTEST = importlib.util.find_spec("pytest") is not None

#: A fenced block: its language, then its text.
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.M | re.S)


def quick_start() -> str:
    """The README's quick start section."""
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    start = readme.index("## Quick start")
    return readme[start : readme.index("\n## ", start + 1)]


def install_line() -> Requirement:
    """What the quick start's first ``pip install`` line installs."""
    lines = quick_start().splitlines()
    line = next(text for text in lines if text.strip().startswith("pip install"))
    (argument,) = shlex.split(line)[2:]
    return Requirement(argument)


def distributions(requirement: Requirement) -> set[str]:
    """The distributions installing ``requirement`` brings, one level deep
    (the package's dependencies and those of the extras it names)."""
    parser = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = parser.load(f)["project"]
    names = list(project["dependencies"])
    for extra in requirement.extras:
        names += project["optional-dependencies"][extra]
    return {Requirement(name).name.lower() for name in names}


#: The distribution that provides each of SQLAlchemy's PostgreSQL drivers.
DRIVER_DISTRIBUTIONS = {"psycopg": {"psycopg"}, "psycopg2": {"psycopg2", "psycopg2-binary"}}


def quick_start_files() -> dict[str, str]:
    """The files the README's quick start shows, by path."""
    section = quick_start()
    files = {}
    for _, text in BLOCK.findall(section):
        first, _, rest = text.partition("\n")
        match = re.fullmatch(r"# ([\w./]+\.(?:py|toml))", first.strip())
        if match:
            files[match.group(1)] = text
    files["tests/__init__.py"] = ""
    return files


class QuickStartTests(unittest.TestCase):
    def setUp(self):
        files = quick_start_files()
        self.assertEqual(
            sorted(files),
            [
                "myapp/__init__.py",
                "myapp/models.py",
                "pyproject.toml",
                "tests/__init__.py",
                "tests/test_users.py",
                "tests/test_users_pytest.py",
            ],
        )
        self.project = Project(self, {}, timeout=120)
        for name, text in files.items():
            path = os.path.join(self.project.dir, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)

    def test_the_runner(self):
        result = self.project.run([])
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(result.last_line, "3 passed, 0 failed")

    def test_flask_test(self):
        flask = os.path.join(os.path.dirname(sys.executable), "flask")  # the venv's
        result = self.project.run([], command=[flask, "--app", "myapp", "test"])
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(result.last_line, "3 passed, 0 failed")

    def test_unittest(self):
        result = self.project.run([], module="unittest")
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("Ran 3 tests", result.stderr)

    @tag("slow")
    @unittest.skipUnless(HAVE_PYTEST, "pytest is in the test extra")
    def test_pytest(self):
        result = self.project.run(["-q", "-p", "no:cacheprovider"], module="pytest")
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("4 passed", result.stdout)

    def test_the_app_runs_as_an_app(self):
        # flask --app myapp routes builds the app on its own URL, postgresql://
        # (its engine is created, not connected): the driver must be there.
        flask = os.path.join(os.path.dirname(sys.executable), "flask")
        result = self.project.run(
            ["--app", "myapp", "routes"], command=[flask], env={"DATABASE_URL": None}
        )
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("/users", result.stdout)


class InstallLineTests(unittest.TestCase):
    def test_it_installs_the_driver_of_the_apps_own_url(self):
        requirement = install_line()
        self.assertEqual(requirement.name, "flask-dbtestcase")
        driver = sa.make_url("postgresql://localhost/myapp").get_dialect().driver
        self.assertTrue(
            DRIVER_DISTRIBUTIONS[driver] & distributions(requirement),
            f"{requirement} installs no {driver}, which SQLAlchemy {sa.__version__} uses for "
            "the quick start app's postgresql:// URL",
        )
        # Under SQLAlchemy 2.0, postgresql:// is psycopg2, which the package installs.
        self.assertIn("psycopg2-binary", distributions(requirement))
        self.assertIn("psycopg", distributions(requirement))

    def test_it_says_pytest_is_needed_for_the_pytest_style(self):
        self.assertIn("pip install pytest", quick_start())
        with open(os.path.join(ROOT, "docs", "quickstart.rst")) as f:
            docs = f.read()
        self.assertIn(f'pip install "{install_line()}"', docs)
        self.assertIn("pip install pytest", docs)


class DocsQuickStartTests(unittest.TestCase):
    def test_the_docs_show_the_same_files(self):
        with open(os.path.join(ROOT, "docs", "quickstart.rst")) as f:
            docs = f.read()
        for name, text in quick_start_files().items():
            if text:
                indented = "".join(
                    f"   {line}" if line.strip() else line for line in text.splitlines(True)
                )
                self.assertIn(indented, docs, f"docs/quickstart.rst differs from README on {name}")
