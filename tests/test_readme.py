"""The README's quick start runs as written.

Every code block of the quick start whose first line names a file
(``# myapp/models.py``) is written to a new project directory, and the tests
are run the ways the README lists: the runner, ``flask --app myapp test``,
``python -m unittest`` and pytest.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import unittest

from tests.support import ROOT, Project

HAVE_PYTEST = importlib.util.find_spec("pytest") is not None

#: A fenced block: its language, then its text.
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.M | re.S)


def quick_start_files() -> dict[str, str]:
    """The files the README's quick start shows, by path."""
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    start = readme.index("## Quick start")
    section = readme[start : readme.index("\n## ", start + 1)]
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

    @unittest.skipUnless(HAVE_PYTEST, "pytest is in the test extra")
    def test_pytest(self):
        result = self.project.run(["-q", "-p", "no:cacheprovider"], module="pytest")
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("4 passed", result.stdout)


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
