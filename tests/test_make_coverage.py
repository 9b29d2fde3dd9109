"""``make coverage`` reports on a clean clone although a test ran a copy of the
package that is gone by report time (tests/test_package.py runs tests from
the unpacked sdist, in a temporary directory): the Makefile's coverage
settings count that copy's lines as the checkout's own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from flask_dbtestcase import tag
from tests.support import ROOT, clean_env

TIMEOUT = 120


@tag("slow")
class CoverageOfACopyTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="fdt-coverage-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.rc = os.path.join(self.tmp, "coveragerc")
        made = subprocess.run(
            ["make", "--no-print-directory", "-s", "coverage-rc",
             f"COVERAGE_RC={self.rc}", f"COVERAGE_DATA={self.tmp}/.coverage"],
            cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT,
        )  # fmt: skip
        self.assertEqual(made.returncode, 0, made.stdout + made.stderr)

    def coverage(self, command: str, *args: str, cwd: str, pythonpath: str):
        """``coverage <command>`` with the Makefile's rc file (``run``: args are the script's)."""
        return subprocess.run(
            [sys.executable, "-m", "coverage", command, f"--rcfile={self.rc}", *args],
            cwd=cwd,
            env=clean_env({"PYTHONPATH": pythonpath}),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    def test_a_copy_of_the_package_that_is_gone_counts_as_the_checkout(self):
        # As the sdist test: the package unpacked under <name>-<version>/.
        unpacked = os.path.join(self.tmp, "sdist", "flask_dbtestcase-0.1.0")
        shutil.copytree(
            os.path.join(ROOT, "flask_dbtestcase"),
            os.path.join(unpacked, "flask_dbtestcase"),
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        script = os.path.join(self.tmp, "importer.py")
        with open(script, "w") as f:
            f.write("import flask_dbtestcase.tags\nprint(flask_dbtestcase.__file__)\n")
        for where in (unpacked, ROOT):
            ran = self.coverage("run", script, cwd=where, pythonpath=where)
            self.assertEqual(ran.returncode, 0, ran.stdout + ran.stderr)
            self.assertTrue(ran.stdout.startswith(where), ran.stdout)
        shutil.rmtree(os.path.join(self.tmp, "sdist"))

        combined = self.coverage("combine", "--quiet", cwd=ROOT, pythonpath=ROOT)
        self.assertEqual(combined.returncode, 0, combined.stdout + combined.stderr)
        report = self.coverage("report", cwd=ROOT, pythonpath=ROOT)
        self.assertEqual(report.returncode, 0, report.stdout + report.stderr)
        self.assertNotIn("No source for code", report.stdout + report.stderr)
        self.assertIn("flask_dbtestcase/tags.py", report.stdout)
        self.assertNotIn("flask_dbtestcase-0.1.0", report.stdout)


if __name__ == "__main__":
    unittest.main()
