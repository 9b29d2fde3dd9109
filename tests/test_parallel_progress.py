"""--parallel shows each result as its test ends in a worker, not when the
worker's whole class has run; a worker that dies loses only the tests that
had not ended."""

from __future__ import annotations

import os
import tempfile
import time
import unittest

from flask_dbtestcase import tag
from tests.support import SUITES, Project

TIMEOUT = 120
PATTERN = ["-p", "suite_*.py"]


def suite(case: unittest.TestCase, name: str) -> Project:
    return Project(case, directory=os.path.join(SUITES, name), timeout=TIMEOUT)


@tag("slow")
class ParallelProgressTests(unittest.TestCase):
    def test_results_show_as_each_test_ends_not_when_the_class_does(self):
        # test_2 of Progress waits until this test has read test_1's result
        # line: a runner that prints a class's results only when the whole
        # class has run would never show it, and test_2 would fail.
        project = suite(self, "progress")
        with tempfile.TemporaryDirectory() as tmp:
            seen = os.path.join(tmp, "seen")
            started = time.monotonic()
            proc = project.popen(
                [*PATTERN, "--parallel", "2", "-v", "2"], env={"PROGRESS_SEEN": seen}
            )
            lines = []
            for line in proc.stderr:
                lines.append(line)
                if "test_1_first" in line:
                    self.assertTrue(line.rstrip().endswith("... ok"), line)
                    open(seen, "w").close()
                    break
            result = project.finish(proc, started)
            project.assertNothingLeft(result)
        self.assertEqual(result.returncode, 0, f"{''.join(lines)}{result}")
        self.assertEqual(result.last_line, "3 passed, 0 failed")
        self.assertIn("test_2_waits_for_the_first_result", result.stderr)

    def test_a_dead_worker_loses_only_the_tests_that_had_not_ended(self):
        project = suite(self, "workerdies")
        result = project.run([*PATTERN, "--parallel", "2", "-v", "2"])
        self.assertEqual(result.returncode, 1, result)
        self.assertRegex(result.stderr, r"test_1_passes \(.*\) \.\.\. ok\n")
        self.assertIn(
            "died while running or before running these 2 test(s) of Dies, from test_2_dies on",
            result.stderr,
        )


if __name__ == "__main__":
    unittest.main()
