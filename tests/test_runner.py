"""The runner, end to end, on the small suites in tests/runner_suites/.

Most runs are made in this process (``Project.run_here``), as Django tests
its ``DiscoverRunner``: ``flask_dbtestcase.runner.main`` on a suite, its
output captured; a runner nested in this run uses this run's test database.
A run gets a process of its own where the behaviour needs one: the real
entry points and their exit codes (``python -m flask_dbtestcase``,
``runtests.py``, ``flask test``), signals, ``--parallel``. Every run checks
that nothing is left behind (no throwaway server; no test database on the
--database-url server).
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

import psycopg2

from flask_dbtestcase import tag
from flask_dbtestcase.cases.testdb import current_database_url
from tests.support import (
    ROOT,
    SUITES,
    SYSTEM_SERVER,
    Project,
    Result,
    as_a_process,
    dsn,
    leftovers,
    processes_mentioning,
    run_database_url,
    run_sql,
    scratch_dir,
    server_available,
    server_config,
    wait_until,
)

TIMEOUT = 120
PATTERN = ["-p", "suite_*.py"]
FLASK = os.path.join(os.path.dirname(sys.executable), "flask")

# The system server the --database-url tests create their test databases on.
BASE_NAME = f"fdbt_runner_{os.getpid()}"
TEST_NAME = "test_" + BASE_NAME


def suite(case: unittest.TestCase, name: str = "basic", **options) -> Project:
    """The suite runner_suites/<name> (or a directory) as a project."""
    return Project(case, directory=os.path.join(SUITES, name), timeout=TIMEOUT, **options)


def run(
    case: unittest.TestCase, args: list[str], name: str = "basic", env=None, outside: bool = False
) -> Result:
    """``python -m flask_dbtestcase args`` on a suite, in this process."""
    return suite(case, name).run_here(args, env=env, outside=outside)


def test_lines(text):
    """The 'name (module.Class.name) ... status' lines of a -v 2 run."""
    return re.findall(r"^(test_\w+) \([\w.]+\) \.\.\.", text, re.M)


def ran_test_ids(text):
    """The test ids (module.Class.name) of a -v 2 run, in order."""
    found = re.findall(r"^(test_\w+) \(([\w.]+)\) \.\.\.", text, re.M)
    # Python 3.11+ prints module.Class.test, older ones module.Class.
    return [where if where.endswith(f".{name}") else f"{where}.{name}" for name, where in found]


class RunnerTestCase(unittest.TestCase):
    def assertCode(self, result: Result, code: int) -> None:
        self.assertEqual(result.returncode, code, str(result))


class RunnerOutputTests(RunnerTestCase):
    """The command line options, in this process."""

    def test_help_lists_options(self):
        result = run(self, ["--help"])
        self.assertCode(result, 0)
        for option in (
            "--verbosity",
            "--failfast",
            "-k",
            "--keepdb",
            "--parallel",
            "--reverse",
            "--shuffle",
            "--debug-sql",
            "--durations",
            "--buffer",
            "--noinput",
            "--database-url",
            "--junit-xml",
            "--pattern",
            "--top-level-directory",
            "--shard",
            "--tag",
            "--exclude-tag",
            "--pdb",
            "--no-color",
        ):
            self.assertIn(option, result.stdout)

    def test_version(self):
        import flask_dbtestcase

        result = run(self, ["--version"])
        self.assertCode(result, 0)
        self.assertEqual(result.stdout.strip(), f"flask-dbtestcase {flask_dbtestcase.__version__}")

    def test_shuffle_swallowing_a_label_gets_a_hint(self):
        result = run(self, ["--shuffle", "suite_basic"])
        self.assertCode(result, 2)
        self.assertIn("'suite_basic' after it is read as its seed", result.stderr)
        self.assertIn("Put the labels first (suite_basic --shuffle)", result.stderr)
        seeded = run(self, PATTERN + ["--shuffle", "7", "-k", "MorePassing"])
        self.assertCode(seeded, 0)  # a seed is not a label

    def test_unknown_option_is_a_usage_error(self):
        result = run(self, ["--no-such-option"])
        self.assertCode(result, 2)
        self.assertIn("usage:", result.stderr)
        self.assertIn("--no-such-option", result.stderr)

    def test_outcomes_summary_and_exit_code(self):
        result = run(self, PATTERN)
        self.assertCode(result, 1)
        self.assertIn("Ran 7 tests in ", result.stderr)
        self.assertIn("FAILED (failures=1, errors=1, skipped=1)", result.stderr)
        self.assertEqual(result.last_line, "4 passed, 2 failed, 1 skipped")
        self.assertIn("RuntimeError: boom in test_error", result.stderr)

    def test_the_test_database_url_is_readable(self):
        # Outside this run: a throwaway server of its own, whose socket is a path.
        result = run(self, PATTERN + ["-v", "2", "-k", "MorePassing"], outside=True)
        self.assertCode(result, 0)
        line = next(x for x in result.stderr.splitlines() if x.startswith("Test database: "))
        self.assertRegex(line, r"\?host=/[^%]+/sock$")

    def test_verbosity_levels(self):
        quiet = run(self, PATTERN + ["-v", "0", "-k", "MorePassing"])
        self.assertCode(quiet, 0)
        self.assertNotIn("...", quiet.stderr)
        self.assertEqual(quiet.last_line, "3 passed, 0 failed")
        normal = run(self, PATTERN + ["-k", "MorePassing"])
        self.assertRegex(normal.stderr, r"^\.\.\. +\[100%\]\n")  # the dots, the progress
        self.assertNotIn("Database setup took", normal.stderr)
        verbose = run(self, PATTERN + ["-v", "2", "-k", "MorePassing"])
        self.assertEqual(test_lines(verbose.stderr), ["test_a", "test_b", "test_c"])
        self.assertRegex(verbose.stderr, r"Database setup took \d+\.\d+s")

    def test_no_tests_needs_no_database(self):
        # Outside this run, with no PostgreSQL to be found: a database set-up would fail.
        env = {"FLASK_DBTESTCASE_PG_BIN": os.path.join(SUITES, "no-such-dir")}
        result = run(self, PATTERN + ["-k", "no_test_matches_this"], env=env, outside=True)
        self.assertCode(result, 5)  # pytest's and unittest's status for "no tests ran"
        self.assertIn("Ran 0 tests", result.stderr)
        self.assertIn("No tests were found in ", result.stderr)
        self.assertIn("that the -k patterns (*no_test_matches_this*) match", result.stderr)
        self.assertEqual(result.last_line, "0 passed, 0 failed")

    def test_k_patterns(self):
        result = run(self, PATTERN + ["-v", "2", "-k", "test_a", "-k", "*_c"])
        self.assertCode(result, 0)
        self.assertEqual(test_lines(result.stderr), ["test_a", "test_c"])
        self.assertEqual(result.last_line, "2 passed, 0 failed")

    def test_failfast(self):
        result = run(self, PATTERN + ["--failfast"])
        self.assertCode(result, 1)
        self.assertIn("Ran 4 tests", result.stderr)  # MorePassing's 3, then test_error stops it
        self.assertEqual(result.last_line, "3 passed, 1 failed")

    def test_reverse(self):
        forward = test_lines(run(self, PATTERN + ["-v", "2"]).stderr)
        backward = test_lines(run(self, PATTERN + ["-v", "2", "--reverse"]).stderr)
        self.assertEqual(len(forward), 7)
        self.assertEqual(backward, forward[::-1])

    def test_shuffle_prints_seed_and_replays(self):
        first = run(self, PATTERN + ["-v", "2", "--shuffle"])
        match = re.search(r"Using shuffle seed: (\d+) \(generated\)", first.stderr)
        self.assertTrue(match, first.stderr)
        again = run(self, PATTERN + ["-v", "2", "--shuffle", match.group(1)])
        self.assertIn(f"Using shuffle seed: {match.group(1)} (given)", again.stderr)
        self.assertIn(f"Used shuffle seed: {match.group(1)} (given)\n", again.stderr)
        self.assertEqual(test_lines(again.stderr), test_lines(first.stderr))
        order = test_lines(first.stderr)
        # Tests of one class stay together.
        outcomes = {"test_pass", "test_fail", "test_error", "test_skip"}
        positions = [i for i, name in enumerate(order) if name in outcomes]
        self.assertEqual(positions, list(range(positions[0], positions[0] + 4)))

    def test_durations(self):
        env = {"SUITE_SLEEP": "0.3"}
        result = run(self, PATTERN + ["--durations", "2"], "slow", env=env)
        self.assertCode(result, 0)
        after = result.stderr.split("Slowest test durations\n", 1)[1].splitlines()
        self.assertTrue(after[0].startswith("-----"))
        rows = [line for line in after[1:3]]
        self.assertRegex(rows[0], r"^0\.[3-9]\d\ds\s+test_2_sleeps ")
        self.assertLessEqual(len([r for r in after[1:4] if re.match(r"^\d+\.\d{3}s ", r)]), 2)
        verbose = run(self, PATTERN + ["--durations", "2", "-v", "2"], "slow", env=env)
        after = verbose.stderr.split("Slowest test durations\n", 1)[1].splitlines()
        self.assertRegex(after[1], r"test_2_sleeps")
        self.assertRegex(after[2], r"^\d+\.\d{3}s\s+test_[13]_quick")
        self.assertEqual(after[3], "")

    def junit(self, path: str) -> ET.Element:
        root = ET.parse(path).getroot()
        self.assertEqual(root.tag, "testsuites")
        return root.find("testsuite")

    def test_junit_xml(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "reports", "junit.xml")
            result = run(self, PATTERN + ["--junit-xml", path])
            self.assertCode(result, 1)
            suite_ = self.junit(path)
        self.assertEqual(
            (
                suite_.get("tests"),
                suite_.get("failures"),
                suite_.get("errors"),
                suite_.get("skipped"),
            ),
            ("7", "1", "1", "1"),
        )
        cases = {case.get("name"): case for case in suite_.iter("testcase")}
        self.assertEqual(cases["test_fail"].get("classname"), "suite_basic.Outcomes")
        failure = cases["test_fail"].find("failure")
        self.assertEqual(failure.get("message"), "AssertionError: 1 != 2")
        self.assertIn("Traceback", failure.text)
        error = cases["test_error"].find("error")
        self.assertIn("boom in test_error", error.get("message"))
        self.assertEqual(cases["test_skip"].find("skipped").get("message"), "not today")
        self.assertEqual(list(cases["test_pass"]), [])
        # The times: seconds with three decimals; the suite's covers its tests'
        # and lies within the run.
        times = {name: case.get("time") for name, case in cases.items()}
        for name, value in list(times.items()) + [("the suite", suite_.get("time"))]:
            self.assertRegex(value, r"^\d+\.\d{3}$", name)
        total = float(suite_.get("time"))
        self.assertLessEqual(sum(map(float, times.values())), total + 0.001 * len(times))
        self.assertLessEqual(total, result.elapsed)

    def test_junit_xml_times_are_the_measured_durations(self):
        from flask_dbtestcase.runner import DBTestRunner

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "junit.xml")
            with (
                as_a_process(os.path.join(SUITES, "slow"), {"SUITE_SLEEP": "0.25"}),
                contextlib.redirect_stdout(io.StringIO()),
            ):
                runner = DBTestRunner(pattern="suite_*.py", junit_xml=path, stream=io.StringIO())
                started = time.monotonic()
                self.assertEqual(runner.run_tests([]), 0)
                wall = time.monotonic() - started
            suite_ = self.junit(path)
        times = {case.get("name"): float(case.get("time")) for case in suite_.iter("testcase")}
        self.assertEqual(set(times), {"test_1_quick", "test_2_sleeps", "test_3_quick"})
        measured = {test._testMethodName: seconds for test, seconds in runner.result.test_durations}
        for name, seconds in times.items():
            self.assertAlmostEqual(seconds, measured[name], delta=0.0005)
        self.assertGreaterEqual(times["test_2_sleeps"], 0.25)
        self.assertLess(times["test_1_quick"] + times["test_3_quick"], 0.25)
        total = float(suite_.get("time"))
        self.assertGreaterEqual(total + 0.002, sum(times.values()))
        self.assertLessEqual(total, wall)

    def test_buffer(self):
        plain = run(self, PATTERN)
        self.assertIn("output of test_pass", plain.stdout)
        buffered = run(self, PATTERN + ["--buffer"])
        self.assertNotIn("output of test_pass", buffered.output)
        self.assertIn("Stdout:\noutput of test_fail", buffered.stderr)

    def test_labels(self):
        by_name = run(
            self, ["-v", "2", "suite_basic.MorePassing.test_b", "suite_basic.Outcomes.test_pass"]
        )
        self.assertEqual(test_lines(by_name.stderr), ["test_b", "test_pass"])
        by_path = run(self, ["-v", "2", "suite_basic.py", "-k", "MorePassing"])
        self.assertEqual(test_lines(by_path.stderr), ["test_a", "test_b", "test_c"])
        missing = run(self, ["no_such_module"])
        self.assertCode(missing, 1)
        self.assertIn("no_such_module", missing.stderr)
        self.assertEqual(missing.last_line, "0 passed, 1 failed")

    def test_runner_subclass(self):
        result = run(
            self, PATTERN + ["--runner", "customrunner:LoudRunner", "--shout", "-k", "test_a"]
        )
        self.assertCode(result, 0)
        self.assertEqual(result.last_line, "1 PASSED, 0 FAILED")
        bad = run(self, ["--runner", "customrunner:Missing"])
        self.assertCode(bad, 2)
        self.assertTrue(bad.stderr.startswith("error: "), bad.stderr)


class EntryPointTests(RunnerTestCase):
    """The real entry points, in processes of their own: their exit codes."""

    def test_python_m_flask_dbtestcase_exit_codes(self):
        # (0: ThrowawayServerTests.test_database_is_handed_to_the_tests.)
        # On this run's database: the subject is the process, not the server.
        basic = suite(self, env={"FLASK_DBTESTCASE_DATABASE_URL": run_database_url()})
        failing = basic.run(PATTERN)
        self.assertCode(failing, 1)
        self.assertIn("Ran 7 tests in ", failing.stderr)
        self.assertEqual(failing.last_line, "4 passed, 2 failed, 1 skipped")
        usage = basic.run(["--no-such-option"])
        self.assertCode(usage, 2)
        self.assertIn("usage:", usage.stderr)

    def test_runtests_py(self):
        result = Project(self, directory=ROOT, timeout=TIMEOUT).run(
            ["--help"], command=[sys.executable, os.path.join(ROOT, "runtests.py")]
        )
        self.assertCode(result, 0)
        self.assertIn("usage: runtests.py", result.stdout)


class RuntestsArgumentsTests(unittest.TestCase):
    """runtests.py: a plain run leaves the slow tests out; --slow, labels or tags keep them."""

    def arguments(self, *argv: str):
        import runtests  # the repository's, at ROOT

        return runtests.arguments(list(argv))

    def test_a_plain_run_leaves_out_the_slow_tests_and_says_so(self):
        argv, notice = self.arguments()
        self.assertEqual(argv[:3], ["tests", "--exclude-tag", "slow"])
        self.assertIn("--slow runs them too", notice)
        self.assertIn("--parallel", argv)

    def test_slow_labels_or_tags_run_them(self):
        for given in (["--slow"], ["tests.test_runner"], ["--tag", "core"], ["--slow", "-v", "2"]):
            with self.subTest(given=given):
                argv, notice = self.arguments(*given)
                self.assertNotIn("slow", argv)
                self.assertIsNone(notice)


class InProcessTests(unittest.TestCase):
    """Suite ordering, without running anything."""

    def make_tests(self):
        from flask_dbtestcase import FlaskDBTestCase, FlaskDBTransactionTestCase

        class Plain(unittest.TestCase):
            def test_p1(self):
                pass

            def test_p2(self):
                pass

        class Trans(FlaskDBTransactionTestCase):
            def test_t1(self):
                pass

        class Db(FlaskDBTestCase):
            def test_d1(self):
                pass

            def test_d2(self):
                pass

        loader = unittest.TestLoader()
        return unittest.TestSuite([loader.loadTestsFromTestCase(c) for c in (Plain, Trans, Db)])

    def names(self, tests):
        return [t._testMethodName for t in tests]

    def test_django_order(self):
        from flask_dbtestcase.runner import DBTestRunner
        from flask_dbtestcase.runner.ordering import iter_test_cases, reorder_tests

        tests = list(iter_test_cases(self.make_tests()))
        ordered = reorder_tests(tests, DBTestRunner.reorder_by)
        self.assertEqual(
            self.names(ordered), ["test_d1", "test_d2", "test_t1", "test_p1", "test_p2"]
        )
        backward = reorder_tests(tests, DBTestRunner.reorder_by, reverse=True)
        self.assertEqual(
            self.names(backward), ["test_d2", "test_d1", "test_t1", "test_p2", "test_p1"]
        )

    def test_shuffle_keeps_bins_and_is_reproducible(self):
        from flask_dbtestcase.runner import DBTestRunner
        from flask_dbtestcase.runner.ordering import Shuffler, iter_test_cases, reorder_tests

        tests = list(iter_test_cases(self.make_tests()))
        first = self.names(reorder_tests(tests, DBTestRunner.reorder_by, shuffler=Shuffler(7)))
        again = self.names(
            reorder_tests(tests[::-1], DBTestRunner.reorder_by, shuffler=Shuffler(7))
        )
        self.assertEqual(first, again)
        self.assertEqual(sorted(first[:2]), ["test_d1", "test_d2"])
        self.assertEqual(first[2], "test_t1")


class NestedRunTests(unittest.TestCase):
    """A runner nested in this run hands this run's state back untouched."""

    def test_outer_run_still_works_after_a_nested_run(self):
        from flask_dbtestcase import FlaskDBTestCase
        from flask_dbtestcase.databases.creation import database_exists
        from flask_dbtestcase.settings import DATABASE_URL_ENV
        from flask_dbtestcase.state import current_run
        from tests.sampleapp import Audit, Item, create_app, db

        databases_used = []

        class Before(FlaskDBTestCase):  # makes the app's bind database, if not yet made
            app_factory = create_app

            def test_uses_both_databases(self):
                db.session.add_all([Item(name="outer"), Audit(event="outer")])
                db.session.commit()
                self.assertRowCount(Item, 1)
                self.assertRowCount(Audit, 1)
                databases_used[:] = [engine.url for engine in db.engines.values()]

        def run_class():
            result = unittest.TestResult()
            unittest.defaultTestLoader.loadTestsFromTestCase(Before).run(result)
            self.assertTrue(result.wasSuccessful(), result.errors + result.failures)

        run_class()
        outer, exported = current_run(), os.environ.get(DATABASE_URL_ENV)
        self.assertEqual(len(databases_used), 2)  # the test database and the bind's
        self.addCleanup(run_sql, run_database_url(), "DROP TABLE IF EXISTS runner_probe")
        nested = run(self, PATTERN + ["-v", "2"], "dbcheck")
        # The nested run's probe table is not the outer run's: gone before its next class.
        run_sql(run_database_url(), "DROP TABLE IF EXISTS runner_probe")
        self.assertEqual(nested.returncode, 0, nested)
        self.assertIn("ROWS=", nested.stdout)
        self.assertIs(current_run(), outer)
        self.assertEqual(os.environ.get(DATABASE_URL_ENV), exported)
        for url in databases_used:  # e.g. the bind's test database: not dropped by the nested run
            self.assertTrue(database_exists(url), url)
        run_class()


class ShardTests(unittest.TestCase):
    """--shard K/N: whole classes, the same split everywhere, each test once."""

    def run_ok(self, args):
        result = run(self, PATTERN + ["-v", "2"] + args, "shard")
        self.assertEqual(result.returncode, 0, result.output)
        return ran_test_ids(result.stderr)

    def test_shards_cover_the_suite_once_by_class(self):
        everything = self.run_ok([])
        self.assertEqual(len(everything), 21)
        shards = [self.run_ok(["--shard", f"{k}/3"]) for k in (1, 2, 3)]
        self.assertTrue(all(shards), shards)
        self.assertEqual(sorted(sum(shards, [])), sorted(everything))  # disjoint and complete
        classes = [{test_id.rsplit(".", 1)[0] for test_id in ids} for ids in shards]
        for i, j in ((0, 1), (0, 2), (1, 2)):
            self.assertFalse(classes[i] & classes[j], "a class is split across shards")
        # The order options change the order within a shard, never its tests.
        reordered = self.run_ok(["--shard", "2/3", "--reverse", "--shuffle", "5"])
        self.assertEqual(sorted(reordered), sorted(shards[1]))
        # Balanced by test count (21 tests: 7 each here).
        self.assertEqual([len(ids) for ids in shards], [7, 7, 7])

    def test_more_shards_than_classes(self):
        self.assertEqual(self.run_ok(["--shard", "12/12"]), [])

    def test_bad_shard_is_a_usage_error(self):
        for value in ("0/3", "4/3", "two/3", "3"):
            result = run(self, ["--shard", value], "shard")
            self.assertEqual(result.returncode, 2, result.output)
            self.assertIn("usage:", result.stderr)
            self.assertIn("argument --shard:", result.stderr)

    def test_runner_argument(self):
        from flask_dbtestcase.errors import ConfigurationError
        from flask_dbtestcase.runner import DBTestRunner

        self.assertEqual(DBTestRunner(shard="2/3").shard, (2, 3))
        self.assertEqual(DBTestRunner(shard=(1, 1)).shard, (1, 1))
        self.assertIsNone(DBTestRunner().shard)
        with self.assertRaisesRegex(ConfigurationError, "1 <= K <= N"):
            DBTestRunner(shard="3/2")

    def test_split_ignores_discovery_order(self):
        from flask_dbtestcase.runner.ordering import shard_tests

        loader = unittest.TestLoader()
        tests = [
            loader.loadTestsFromTestCase(c) for c in (RunnerOutputTests, InProcessTests, ShardTests)
        ]
        tests = [t for suite_ in tests for t in suite_]
        for k in (1, 2):
            forward = [t.id() for t in shard_tests(tests, k, 2)]
            backward = [t.id() for t in shard_tests(tests[::-1], k, 2)]
            self.assertEqual(sorted(forward), sorted(backward))


class KeepDBTests(unittest.TestCase):
    """--keepdb on the throwaway server: its data directory (and so the test
    database, with what the tests committed) survives to the next run of the
    same project; a concurrent run gets a fresh server; without --keepdb
    nothing survives. Each test is a project of its own (a copy of
    runner_suites/keepdb), sharing one private cache and runtime directory.
    The runs are made in this process, outside this run (with throwaway
    servers of their own)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = scratch_dir("fdtk-", 0o755)  # reachable by the server user when root
        cls.cache = os.path.join(cls.tmp, "cache")
        os.mkdir(cls.cache, 0o755)
        cls.runtime_parent = os.path.join(cls.tmp, "rt")
        os.mkdir(cls.runtime_parent, 0o755)
        # The initdb cache is filled first, so every test, in whatever
        # order, starts with it as it is after any run.
        from flask_dbtestcase.postgres.server import ThrowawayServer

        env = {
            "FLASK_DBTESTCASE_CACHE_DIR": cls.cache,
            "FLASK_DBTESTCASE_RUNTIME_DIR": cls.runtime_parent,
        }
        with as_a_process(cls.tmp, env, outside=True):
            ThrowawayServer.start(server_config()).stop()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.project = tempfile.mkdtemp(prefix="proj-", dir=self.tmp)
        shutil.copy(os.path.join(SUITES, "keepdb", "suite_keep.py"), self.project)
        self.record = os.path.join(self.project, "record.txt")
        self.env = {
            "FLASK_DBTESTCASE_CACHE_DIR": self.cache,
            "KEEPDB_RECORD": self.record,
            "FLASK_DBTESTCASE_RUNTIME_DIR": self.runtime_parent,
        }

    def run_suite(self, *args):
        """One run: (oid, real data directory, runs so far) it recorded, and its stderr."""
        result = Project(self, directory=self.project, env=self.env).run_here(
            PATTERN + ["-v", "2"] + list(args), outside=True
        )
        self.assertEqual(result.returncode, 0, result.output)
        with open(self.record) as f:
            oid, data_dir, runs = f.read().splitlines()[-1].split()
        # No server outlives the run, and its run directory is gone.
        runtime = os.path.join(self.runtime_parent, f"flask-dbtestcase-{os.geteuid()}")
        # (its directory goes in an rm -rf left running in the background)
        self.assertTrue(wait_until(lambda: not os.listdir(runtime)), os.listdir(runtime))
        self.assertEqual(processes_mentioning(self.tmp), [])
        return (int(oid), data_dir, int(runs)), result.stderr

    def kept_dir(self, stderr):
        match = re.search(r"^Keeping the server's data in (\S+)$", stderr, re.M)
        self.assertTrue(match, stderr)
        return match.group(1)

    def test_database_and_data_directory_survive(self):
        (oid1, data1, runs1), out1 = self.run_suite("--keepdb")
        (oid2, data2, runs2), out2 = self.run_suite("--keepdb")
        kept = self.kept_dir(out1)
        self.assertEqual(self.kept_dir(out2), kept)
        self.assertEqual((oid2, data2), (oid1, data1))
        self.assertEqual(data1, os.path.realpath(os.path.join(kept, "data")))
        self.assertEqual((runs1, runs2), (1, 2))  # the first run's commit is still there
        self.assertTrue(kept.startswith(self.cache), kept)
        # Stopped by a fast shutdown: a clean data directory, no postmaster.pid.
        self.assertFalse(os.path.exists(os.path.join(kept, "data", "postmaster.pid")))

    def test_without_keepdb_nothing_survives(self):
        kept_before = set(os.listdir(self.cache))
        (_, data1, runs1), out1 = self.run_suite()
        (_, data2, runs2), _ = self.run_suite()
        self.assertEqual((runs1, runs2), (1, 1))
        self.assertNotEqual(data1, data2)
        self.assertFalse(os.path.exists(data1))
        self.assertNotIn("Keeping", out1)
        self.assertEqual(set(os.listdir(self.cache)), kept_before)

    def test_a_concurrent_run_gets_a_fresh_server(self):
        (_, kept_data, _), out = self.run_suite("--keepdb")
        with open(self.kept_dir(out) + ".lock", "w") as lock:  # as another run holding it
            fcntl.flock(lock, fcntl.LOCK_EX)
            (_, data, runs), out = self.run_suite("--keepdb")
        self.assertIn("Another --keepdb run of this project is using its kept server data", out)
        self.assertEqual(runs, 1)
        self.assertNotEqual(data, kept_data)
        (_, data, runs), _ = self.run_suite("--keepdb")
        self.assertEqual((data, runs), (kept_data, 2))


class ThrowawayServerTests(RunnerTestCase):
    def test_database_is_handed_to_the_tests(self):
        # The real entry point, outside this run: a throwaway server of its own.
        result = suite(self, "dbcheck").run(PATTERN)
        self.assertCode(result, 0)
        self.assertIn("DBNAME=test_db", result.stdout)
        self.assertIn("ROWS=1", result.stdout)
        self.assertEqual(result.last_line, "1 passed, 0 failed")

    def test_debug_sql(self):
        result = run(self, PATTERN + ["--debug-sql"], "sqlfail")
        self.assertCode(result, 1)
        self.assertIn("SQL executed during the test:", result.stderr)
        self.assertIn("SELECT 42 AS the_answer", result.stderr)
        without = run(self, PATTERN, "sqlfail")
        self.assertNotIn("SELECT 42", without.stderr)

    def test_framework_errors_in_tests_have_no_traceback(self):
        result = run(self, PATTERN, "cfgerror")
        self.assertCode(result, 2)  # a set-up error, not a failed test
        self.assertIn("ERROR: setUpClass (suite_cfg.BadSetup)", result.stderr)
        self.assertIn(
            "ConfigurationError: The app factory 'nope:create_app' could not", result.stderr
        )
        self.assertNotIn("Traceback", result.stderr)
        self.assertIn("1 set-up error (the run exits with status 2)", result.stderr)
        self.assertEqual(result.last_line, "1 passed, 0 failed, 1 error in set-up")

    @tag("slow")
    def test_set_up_errors_exit_2_from_parallel_workers_too(self):
        result = suite(self, "cfgerror").run(PATTERN + ["--parallel", "2"])
        self.assertCode(result, 2)
        self.assertIn("ConfigurationError: The app factory 'nope:create_app'", result.stderr)
        self.assertEqual(result.last_line, "1 passed, 0 failed, 1 error in set-up")

    def test_a_failing_test_is_not_a_set_up_error(self):
        result = run(self, PATTERN + ["-k", "test_passes", "-k", "three"], "counts")
        self.assertCode(result, 1)
        self.assertNotIn("set-up error", result.stderr)

    def test_the_summary_counts_tests_not_error_entries(self):
        # One test fails and errors in its clean-up, one fails in three subtests:
        # five entries in unittest's FAILED line, two failed tests.
        result = run(self, PATTERN, "counts")
        self.assertCode(result, 1)
        self.assertIn("Ran 3 tests", result.stderr)
        self.assertIn("FAILED (failures=4, errors=1)", result.stderr)
        self.assertEqual(result.last_line, "1 passed, 2 failed")

    def test_postgresql_not_found(self):
        env = {"FLASK_DBTESTCASE_PG_BIN": os.path.join(SUITES, "no-such-dir")}
        result = run(self, PATTERN, "dbcheck", env=env, outside=True)
        self.assertCode(result, 2)
        self.assertTrue(result.stderr.startswith("error: "), result.stderr)
        self.assertIn("--database-url", result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1)

    def test_sigint_mid_run_cleans_up(self):
        self._interrupt(signal.SIGINT)

    def test_sigterm_mid_run_cleans_up(self):
        self._interrupt(signal.SIGTERM)

    def _interrupt(self, signum):
        slow = suite(self, "slow", env={"SUITE_SLEEP": "60"})
        started = time.monotonic()
        proc = slow.popen(PATTERN)
        line = proc.stdout.readline()  # the test prints SLEEPING, then sleeps
        self.assertEqual(line.strip(), "SLEEPING")
        self.assertTrue(leftovers(proc.pid), "the server should be running now")
        proc.send_signal(signum)
        result = slow.finish(proc, started)
        self.assertCode(result, 130)
        self.assertIn("Interrupted: 2 tests ran", result.stderr)
        slow.assertNothingLeft(result)

    def test_programs_a_worker_starts_get_ctrl_c(self):
        """A --parallel worker keeps Ctrl-C from itself, not from the programs its tests start."""
        code = (
            "import signal, subprocess, sys, unittest\n"
            "PROBE = 'import signal; print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)'\n"
            "class Child(unittest.TestCase):\n"
            "    def test_child_hears_sigint(self):\n"
            "        out = subprocess.run([sys.executable, '-c', PROBE], capture_output=True,\n"
            "                             text=True, check=True).stdout.strip()\n"
            "        self.assertEqual(out, 'False')\n"
        )
        files = {f"test_child{n}.py": code.replace("Child", f"Child{n}") for n in (1, 2)}
        result = Project(self, files).run(["--parallel", "2"])
        self.assertEqual(result.returncode, 0, result)
        self.assertEqual(result.last_line, "2 passed, 0 failed")

    @tag("slow")
    def test_parallel_auto_runs_a_small_suite_serially(self):
        result = suite(self, "basic").run(PATTERN + ["--parallel", "-v", "2"])
        self.assertIn("fewer than the 50 that --parallel auto needs", result.stderr)
        self.assertNotIn("processes.", result.stderr)  # "Running N test classes in M processes."
        explicit = suite(self, "basic").run(PATTERN + ["--parallel", "2", "-v", "2"])
        self.assertIn("test classes in 2 processes.", explicit.stderr)
        self.assertEqual(result.last_line, explicit.last_line)

    def test_parallel(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "junit.xml")
            result = suite(self, "parallel", env={"PARALLEL_RENDEZVOUS": tmp}).run(
                PATTERN + ["--parallel", "2", "--junit-xml", path]
            )
            self.assertCode(result, 1)
            suite_ = ET.parse(path).getroot().find("testsuite")
        self.assertEqual(result.last_line, "4 passed, 4 failed")
        self.assertIn("Ran 8 tests", result.stderr)
        # Both workers ran tests (they wait for each other), each on its own clone.
        pairs = set(re.findall(r"WORKER (\d+) DB (\w+)", result.stdout))
        self.assertEqual({worker for worker, _ in pairs}, {"1", "2"}, result.stdout)
        self.assertEqual({db for _, db in pairs}, {f"test_db_{worker}" for worker, _ in pairs})
        for number in range(1, 5):
            self.assertIn(f"failure from class {number}", result.stderr)
        self.assertEqual(suite_.get("failures"), "4")
        failures = [
            case.find("failure")
            for case in suite_.iter("testcase")
            if case.find("failure") is not None
        ]
        self.assertEqual(len(failures), 4)
        self.assertTrue(all("Traceback" in f.text for f in failures))


@tag("slow")
class FlaskCommandTests(RunnerTestCase):
    """``flask test``: the Flask CLI, in processes of their own."""

    def test_flask_test_runs_the_runner(self):
        basic = suite(self, env={"FLASK_DBTESTCASE_DATABASE_URL": run_database_url()})
        result = basic.run(PATTERN + ["-k", "test_pass"], command=[FLASK, "test"])
        self.assertCode(result, 0)
        self.assertEqual(result.last_line, "1 passed, 0 failed")
        failing = basic.run(PATTERN, command=[FLASK, "test"])
        self.assertCode(failing, 1)
        help_ = basic.run(["--help"], command=[FLASK, "test"])
        self.assertIn("usage: flask test", help_.stdout)

    def test_flask_app_becomes_the_default_factory_even_when_it_cannot_load(self):
        # The app does not exist: flask test finds no test command of the
        # app's own, and runs the runner with the factory named.
        result = suite(self, "envcheck").run(
            PATTERN, command=[FLASK, "--app", "nonexistent_app:create_app", "test"]
        )
        self.assertCode(result, 0)
        self.assertIn("APP_FACTORY=nonexistent_app:create_app", result.stdout)
        self.assertIn("HAS_DB_URL=True", result.stdout)  # the runner's own database
        env = {
            "FLASK_APP": "other_app:create_app",
            "FLASK_DBTESTCASE_DATABASE_URL": run_database_url(),
        }
        from_env = suite(self, "envcheck", env=env).run(PATTERN, command=[FLASK, "test"])
        self.assertIn("APP_FACTORY=other_app:create_app", from_env.stdout)


@unittest.skipUnless(server_available(), f"no PostgreSQL server at {SYSTEM_SERVER}")
class DatabaseURLTests(RunnerTestCase):
    """--database-url / TEST_DATABASE_URL against the real server, in this
    process but outside this run (whose database would otherwise be used)."""

    url = f"{SYSTEM_SERVER}/{BASE_NAME}"

    def sql(self, statement):
        return run_sql(SYSTEM_SERVER + "/postgres", statement)

    def databases(self):
        return {row[0] for row in self.sql("SELECT datname FROM pg_database")}

    def setUp(self):
        self.sql(f'DROP DATABASE IF EXISTS "{TEST_NAME}"')
        self.addCleanup(self.sql, f'DROP DATABASE IF EXISTS "{TEST_NAME}"')

    def run_db(self, args, env=None):
        return run(self, PATTERN + args, "dbcheck", env=env, outside=True)

    def test_creates_and_drops_the_test_database(self):
        result = self.run_db(["--database-url", self.url, "-v", "2"])
        self.assertCode(result, 0)
        self.assertIn(f"DBNAME={TEST_NAME}", result.stdout)
        # The URL handed over names the run's driver (the same setting in the child).
        driver = current_database_url().get_driver_name()
        self.assertIn(f"DBURL=postgresql+{driver}://", result.stdout)
        self.assertNotIn(TEST_NAME, self.databases())

    def test_test_database_url_environment_variable(self):
        result = self.run_db([], env={"TEST_DATABASE_URL": self.url})
        self.assertCode(result, 0)
        self.assertIn(f"DBNAME={TEST_NAME}", result.stdout)
        self.assertNotIn(TEST_NAME, self.databases())

    def test_existing_database_refused_kept_or_replaced(self):
        self.sql(f'CREATE DATABASE "{TEST_NAME}"')
        refused = self.run_db(["--database-url", self.url])
        self.assertCode(refused, 2)
        self.assertTrue(refused.stderr.startswith("error: "), refused.stderr)
        self.assertIn("already exists", refused.stderr)
        self.assertNotIn("Traceback", refused.stderr)
        self.assertEqual(len(refused.stderr.strip().splitlines()), 1)
        self.assertIn(TEST_NAME, self.databases())  # refused: not touched

        for expected_rows in (1, 2):
            kept = self.run_db(["--database-url", self.url, "--keepdb"])
            self.assertCode(kept, 0)
            self.assertIn(f"ROWS={expected_rows}", kept.stdout)
            self.assertIn(TEST_NAME, self.databases())

        replaced = self.run_db(["--database-url", self.url, "--noinput"])
        self.assertCode(replaced, 0)
        self.assertIn("ROWS=1", replaced.stdout)  # a fresh database
        self.assertNotIn(TEST_NAME, self.databases())

    def test_given_database_is_used_as_is(self):
        self.sql(f'CREATE DATABASE "{TEST_NAME}"')
        url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{TEST_NAME}"
        if SYSTEM_SERVER != "postgresql://postgres@127.0.0.1:5432":
            url = SYSTEM_SERVER.replace("postgresql://", "postgresql+psycopg2://") + "/" + TEST_NAME
        result = self.run_db([], env={"FLASK_DBTESTCASE_DATABASE_URL": url})
        self.assertCode(result, 0)
        self.assertIn(f"DBNAME={TEST_NAME}", result.stdout)
        self.assertIn(TEST_NAME, self.databases())  # neither created nor dropped by the runner

    @tag("slow")
    def test_a_given_database_is_not_copied_from_under_its_owner(self):
        """--parallel in a run handed a database: each worker gets an empty database of
        its own (copying would need the given one idle, and its owner is connected)."""
        self.sql(f'CREATE DATABASE "{TEST_NAME}"')
        url = SYSTEM_SERVER.replace("postgresql://", "postgresql+psycopg2://") + "/" + TEST_NAME
        owner = psycopg2.connect(**dsn(url))
        self.addCleanup(owner.close)
        with tempfile.TemporaryDirectory() as tmp:
            env = {"PARALLEL_RENDEZVOUS": tmp, "FLASK_DBTESTCASE_DATABASE_URL": url}
            result = suite(self, "parallel", env=env).run(PATTERN + ["--parallel", "2"])
        self.assertCode(result, 1)
        pairs = set(re.findall(r"WORKER (\d+) DB (\w+)", result.stdout))
        self.assertEqual({db for _, db in pairs}, {f"{TEST_NAME}_{w}" for w, _ in pairs})
        with owner.cursor() as cur:  # the owner's connection survived the run
            cur.execute("SELECT 1")
            self.assertEqual(cur.fetchone(), (1,))
        self.assertEqual({d for d in self.databases() if d.startswith(TEST_NAME)}, {TEST_NAME})

    @tag("slow")
    def test_parallel_clones_are_dropped(self):
        with tempfile.TemporaryDirectory() as tmp:
            result = suite(self, "parallel", env={"PARALLEL_RENDEZVOUS": tmp}).run(
                PATTERN + ["--database-url", self.url, "--parallel", "2"]
            )
        self.assertCode(result, 1)
        pairs = set(re.findall(r"WORKER (\d+) DB (\w+)", result.stdout))
        self.assertEqual({worker for worker, _ in pairs}, {"1", "2"}, result.stdout)
        self.assertEqual({db for _, db in pairs}, {f"{TEST_NAME}_{w}" for w, _ in pairs})
        self.assertFalse({d for d in self.databases() if d.startswith(TEST_NAME)})

    def test_non_postgresql_url(self):
        result = self.run_db(["--database-url", "sqlite:///db.sqlite3"])
        self.assertCode(result, 2)
        self.assertTrue(result.stderr.startswith("error: "), result.stderr)
        self.assertIn("PostgreSQL", result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1)
        self.assertFalse(os.path.exists(os.path.join(SUITES, "dbcheck", "db.sqlite3")))


if __name__ == "__main__":
    unittest.main()
