"""What the runner shows a person: colour (a terminal, --no-color, NO_COLOR,
FORCE_COLOR), the progress at the end of each line of dots, progress with
--parallel as the results arrive, --pdb, and --tag/--exclude-tag with the
``tag`` decorator."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time
import unittest

from flask_dbtestcase import tag
from flask_dbtestcase.tags import tags_of
from tests.support import SUITES, Project, Result, clean_env, run_database_url

TIMEOUT = 120
PATTERN = ["-p", "suite_*.py"]
ESC = "\x1b["
RED_F = "\x1b[31mF\x1b[0m"
GREEN_DOT = "\x1b[32m.\x1b[0m"


def suite(case: unittest.TestCase, name: str, **options) -> Project:
    return Project(case, directory=os.path.join(SUITES, name), timeout=TIMEOUT, **options)


def run(case: unittest.TestCase, args: list[str], name: str = "basic", env=None) -> Result:
    """The runner on a suite, in this process (stderr is a StringIO: no terminal)."""
    return suite(case, name).run_here(args, env=env)


def ran_ids(text: str) -> list[str]:
    """The ``module.Class.test`` of each line of a -v 2 run, sorted."""
    found = []
    for name, where in re.findall(r"^(test_\w+) \(([\w.]+)\) \.\.\.", text, re.M):
        # Python 3.11+ prints module.Class.test, older ones module.Class.
        found.append(where if where.endswith(f".{name}") else f"{where}.{name}")
    return sorted(found)


def run_on_a_terminal(
    case: unittest.TestCase,
    args: list[str],
    env: dict,
    directory: str = os.path.join(SUITES, "basic"),
    columns: int | None = None,
    code: int = 1,
) -> str:
    """The runner on basic/ (or ``directory``), its stderr on a pseudo-terminal
    (``columns`` wide): what the terminal showed."""
    master, slave = pty.openpty()
    if columns is not None:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = clean_env({"FLASK_DBTESTCASE_DATABASE_URL": run_database_url(), **env})
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask_dbtestcase", *args],
        cwd=directory,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
    )
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if not ready:
                continue
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    case.assertEqual(proc.returncode, code)
    return b"".join(chunks).decode()


class ColourTests(unittest.TestCase):
    def test_no_colour_without_a_terminal(self):
        result = run(self, PATTERN)
        self.assertEqual(result.returncode, 1)
        self.assertNotIn(ESC, result.stderr)
        self.assertEqual(result.last_line, "4 passed, 2 failed, 1 skipped")

    def test_force_color_colours_statuses_headings_and_summary(self):
        result = run(self, PATTERN, env={"FORCE_COLOR": "1"})
        self.assertIn(RED_F, result.stderr)
        self.assertIn("\x1b[31mE\x1b[0m", result.stderr)
        self.assertIn(GREEN_DOT, result.stderr)
        self.assertIn("\x1b[33ms\x1b[0m", result.stderr)
        self.assertRegex(result.stderr, r"\x1b\[31mFAIL: test_fail \(.*\)\x1b\[0m\n")
        self.assertIn("\x1b[31mFAILED\x1b[0m (failures=1, errors=1, skipped=1)", result.stderr)
        self.assertEqual(result.last_line, "\x1b[31m4 passed, 2 failed, 1 skipped\x1b[0m")
        # The tracebacks themselves stay plain.
        self.assertIn("\nAssertionError: 1 != 2\n", result.stderr)

    def test_verbose_lines_and_a_green_summary(self):
        result = run(self, [*PATTERN, "-v", "2", "-k", "MorePassing"], env={"FORCE_COLOR": "1"})
        self.assertEqual(result.returncode, 0)
        self.assertEqual(result.stderr.count(" ... \x1b[32mok\x1b[0m\n"), 3, result.stderr)
        self.assertIn("\x1b[32mOK\x1b[0m", result.stderr)
        self.assertEqual(result.last_line, "\x1b[32m3 passed, 0 failed\x1b[0m")

    def test_no_color_and_NO_COLOR_win_over_FORCE_COLOR(self):
        for args, env in (
            ([*PATTERN, "--no-color"], {"FORCE_COLOR": "1"}),
            (PATTERN, {"FORCE_COLOR": "1", "NO_COLOR": "1"}),
        ):
            with self.subTest(args=args, env=env):
                result = run(self, args, env=env)
                self.assertEqual(result.returncode, 1)
                self.assertNotIn(ESC, result.output)

    @tag("slow")
    def test_a_terminal_gets_colour_unless_NO_COLOR_or_a_dumb_terminal(self):
        coloured = run_on_a_terminal(self, PATTERN, {"TERM": "xterm", "NO_COLOR": None})
        self.assertIn(RED_F, coloured)
        self.assertIn("\x1b[31m4 passed, 2 failed, 1 skipped\x1b[0m", coloured)
        for env in ({"TERM": "xterm", "NO_COLOR": "1"}, {"TERM": "dumb"}):
            with self.subTest(env=env):
                plain = run_on_a_terminal(self, PATTERN, env)
                self.assertIn("4 passed, 2 failed, 1 skipped", plain)
                self.assertNotIn(ESC, plain)

    def test_parallel_results_are_coloured_too(self):
        project = suite(self, "progress")
        with tempfile.TemporaryDirectory() as tmp:
            seen = os.path.join(tmp, "seen")
            open(seen, "w").close()  # test_2 need not wait here
            result = project.run(
                [*PATTERN, "--parallel", "2"], env={"FORCE_COLOR": "1", "PROGRESS_SEEN": seen}
            )
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(result.stderr.count(GREEN_DOT), 3, result.stderr)


def many_tests(count: int = 100, failing: int | None = 43) -> str:
    """A module of ``count`` plain tests in classes of 20; the ``failing``-th (from 0) fails."""
    lines = ["import unittest", ""]
    for n in range(count):
        if n % 20 == 0:
            lines.append(f"class C{n // 20}(unittest.TestCase):")
        lines += [f"    def test_{n % 20:02d}(self):", f"        self.assertTrue({n != failing})"]
    return "\n".join(lines) + "\n"


#: A line of statuses ended with the progress, as pytest shows it.
PROGRESS_LINE = re.compile(r"^([.FEsxu]+) *( \[ *(\d+)%\])$")


def progress_lines(text: str) -> list[tuple[str, str, int]]:
    """The lines of statuses of a run's report: (statuses, the line, its percentage)."""
    return [
        (m.group(1), m.group(0), int(m.group(3)))
        for line in text.splitlines()
        if (m := PROGRESS_LINE.match(line))
    ]


class ProgressTests(unittest.TestCase):
    """Verbosity 1: each line of dots ends with the share of the run done."""

    def project(self) -> Project:
        return Project(self, {"test_many.py": many_tests()}, timeout=TIMEOUT)

    def assertProgress(self, text: str, width: int, fails: int = 1) -> None:
        lines = progress_lines(text)
        self.assertTrue(lines, text)
        statuses = "".join(s for s, _, _ in lines)
        self.assertEqual(len(statuses), 100, text)
        self.assertEqual(statuses.count("F"), fails)
        for _, line, _ in lines:
            self.assertEqual(len(line), width, line)
        # Every line but the last is full; the percentages are the tests done.
        done = 0
        for statuses_of_line, _, percent in lines:
            done += len(statuses_of_line)
            self.assertEqual(percent, done)  # 100 tests: one test is one per cent
        self.assertEqual(lines[-1][2], 100)
        for statuses_of_line, _, _ in lines[:-1]:
            self.assertEqual(len(statuses_of_line), width - len(" [100%]"))

    def test_80_columns_without_a_terminal(self):
        result = self.project().run_here([])
        self.assertEqual(result.returncode, 1, result)
        self.assertProgress(result.stderr, 80)
        first = result.stderr.splitlines()[0]
        self.assertEqual(first, "." * 43 + "F" + "." * 29 + " [ 73%]")
        self.assertEqual(len(progress_lines(result.stderr)), 2)
        # The report goes on as unittest's, the summary line last.
        self.assertIn("[100%]\n====", result.stderr)
        self.assertEqual(result.last_line, "99 passed, 1 failed")

    def test_the_terminal_width_on_a_terminal(self):
        project = self.project()
        shown = run_on_a_terminal(
            self, [], {"NO_COLOR": "1"}, directory=project.dir, columns=50, code=1
        )
        self.assertProgress(shown.replace("\r\n", "\n"), 50)
        self.assertEqual(len(progress_lines(shown.replace("\r\n", "\n"))), 3)

    def test_a_line_that_ends_full_has_no_empty_line_after_it(self):
        # 73 tests fill one line of 80 columns exactly.
        project = Project(self, {"test_many.py": many_tests(73, None)}, timeout=TIMEOUT)
        result = project.run_here([])
        self.assertEqual(result.returncode, 0, result)
        self.assertTrue(result.stderr.startswith("." * 73 + " [100%]\n---"), result.stderr)

    def test_parallel_keeps_the_live_stream_with_progress(self):
        result = self.project().run(["--parallel", "2"])
        self.assertEqual(result.returncode, 1, result)
        self.assertProgress(result.stderr, 80)

    def test_verbose_lines_are_unittests(self):
        result = self.project().run_here(["-v", "2", "-k", "C0"])
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(progress_lines(result.stderr), [])
        self.assertEqual(len(re.findall(r" \.\.\. ok\n", result.stderr)), 20)
        quiet = self.project().run_here(["-v", "0", "-k", "C0"])
        self.assertNotIn("%]", quiet.stderr)


class PdbTests(unittest.TestCase):
    def test_opens_pdb_at_each_error_and_failure(self):
        project = suite(self, "debug", env={"FLASK_DBTESTCASE_DATABASE_URL": run_database_url()})
        proc = subprocess.Popen(
            project.command([*PATTERN, "--pdb"]),
            cwd=project.dir,
            env=clean_env(project.env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.addCleanup(project.reap, proc)
        # test_errors first, then test_fails: a command for each debugger.
        stdout, stderr = proc.communicate("p other\nc\np secret\nc\n", timeout=TIMEOUT)
        self.assertEqual(proc.returncode, 1, stdout + stderr)
        self.assertIn("Opening PDB: RuntimeError('boom 42')", stderr)
        self.assertIn("Opening PDB: AssertionError('custom failure')", stderr)
        self.assertIn("(Pdb) 42\n", stdout)
        self.assertIn("(Pdb) 'the local seen by pdb'\n", stdout)
        self.assertEqual(stderr.strip().splitlines()[-1], "1 passed, 2 failed")

    def test_not_with_parallel(self):
        result = run(self, [*PATTERN, "--pdb", "--parallel", "2"], "debug")
        self.assertEqual(result.returncode, 2)
        self.assertTrue(result.stderr.startswith("error: --pdb cannot be used with --parallel"))
        self.assertIn("Leave out --parallel", result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1)


class TagTests(unittest.TestCase):
    def ran(self, *args: str, name: str = "tags") -> list[str]:
        result = run(self, [*PATTERN, "-v", "2", *args], name)
        self.assertEqual(result.returncode, 0, result)
        return ran_ids(result.stderr)

    def test_tag_runs_the_tests_with_any_of_the_tags(self):
        self.assertEqual(
            self.ran("--tag", "core"),
            [
                "suite_tags.FastSubclass.test_slow_core",
                "suite_tags.SlowThings.test_slow_core",
                "suite_tags.Untagged.test_core",
            ],
        )
        self.assertEqual(
            self.ran("--tag", "fast", "--tag", "db"),
            [
                "suite_tags.FastSubclass.test_slow_core",
                "suite_tags.FastSubclass.test_slow_plain",
                "suite_tags.Untagged.test_core",
            ],
        )

    def test_exclude_tag_wins(self):
        self.assertEqual(
            self.ran("--tag", "slow", "--exclude-tag", "core"),
            ["suite_tags.FastSubclass.test_slow_plain", "suite_tags.SlowThings.test_slow_plain"],
        )
        self.assertEqual(
            self.ran("--exclude-tag", "slow"),
            ["suite_tags.Untagged.test_core", "suite_tags.Untagged.test_plain"],
        )

    def test_the_run_says_which_tags(self):
        result = run(self, [*PATTERN, "--tag", "core", "--exclude-tag", "slow"], "tags")
        self.assertIn("Including test tag(s): core.\n", result.stderr)
        self.assertIn("Excluding test tag(s): slow.\n", result.stderr)
        self.assertEqual(result.last_line, "1 passed, 0 failed")

    def test_no_test_with_the_tag_exits_5_and_names_it(self):
        result = run(self, [*PATTERN, "--tag", "nosuchtag"], "tags")
        self.assertEqual(result.returncode, 5)
        self.assertIn("that the tags (nosuchtag) are spelt as in the tests' @tag()", result.stderr)

    def test_a_module_that_fails_to_import_is_still_reported(self):
        result = run(self, [*PATTERN, "--tag", "core"], "tagsbroken")
        self.assertEqual(result.returncode, 1)
        self.assertIn("No module named 'no_such_module_anywhere'", result.stderr)
        self.assertEqual(result.last_line, "1 passed, 1 failed")

    def test_decorator(self):
        @tag("a")
        class Base(unittest.TestCase):
            @tag("m")
            def test_x(self):
                pass

        @tag("b")
        class Sub(Base):
            pass

        self.assertEqual(Base.tags, {"a"})  # the subclass's tag did not reach it
        self.assertEqual(Sub.tags, {"a", "b"})
        self.assertEqual(tags_of(Sub("test_x")), {"a", "b", "m"})
        self.assertEqual(tags_of(unittest.TestCase()), set())


if __name__ == "__main__":
    unittest.main()
