"""The test runner: one test database for the whole run, Django's way.

``DBTestRunner`` is shaped like Django's ``DiscoverRunner``: every command
line option is an ``__init__`` argument, ``add_arguments(parser)`` declares
them, and ``run_tests(labels)`` runs the steps a subclass can override::

    setup_test_environment() -> build_suite(labels) -> setup_databases()
    -> run_suite(suite) -> teardown_databases(state)  (always, in finally)
    -> teardown_test_environment() -> suite_result(suite, result)

The databases reach the test classes as an object in the process state
(:class:`~flask_dbtestcase.state.RunDatabases`), and the processes the tests
start through ``FLASK_DBTESTCASE_DATABASE_URL``. This module imports only the standard
library at import time, so ``python -m flask_dbtestcase --help`` stays fast;
the database helpers are imported when the databases are set up.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import signal
import sys
import time
import unittest

from ..errors import ConfigurationError, DBTestCaseError
from ..settings import DATABASE_URL_ENV, RUNNER_ENV, TEST_DATABASE_URL_ENV
from ..state import STATE
from .databases import DatabaseState, setup_databases, teardown_databases
from .loading import load_tests_for_label
from .ordering import Shuffler, iter_test_cases, parse_shard, partition_by_class, reorder_tests, shard_tests
from .results import DBTestResult, DBTextTestRunner, SQLCapture

__all__ = ["DBTestRunner", "DBTestResult", "Shuffler", "main", "build_parser"]


def _parallel_type(value):
    if value == "auto":
        return value
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an integer or the string 'auto'" % value)
    if number < 0:
        raise argparse.ArgumentTypeError("--parallel must be 0 or more")
    return number


def _shard_type(value):
    try:
        return parse_shard(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc))


class DBTestRunner:
    """Discover and run tests against one test database for the whole run."""

    test_suite = unittest.TestSuite
    test_runner = DBTextTestRunner
    test_loader_class = unittest.TestLoader
    result_class = DBTestResult
    #: Test classes run first, in this order (by class name, see build_suite).
    reorder_by = ("FlaskDBTestCase", "FlaskDBTransactionTestCase")

    def __init__(self, pattern=None, top_level=None, verbosity=1, interactive=True,
                 failfast=False, keepdb=False, reverse=False, debug_sql=False,
                 parallel=0, buffer=False, test_name_patterns=None, shuffle=False,
                 durations=None, database_url=None, junit_xml=None, shard=None, stream=None,
                 app_factory=None, **kwargs):
        self.pattern = pattern or "test*.py"
        self.top_level = top_level
        self.verbosity = verbosity
        self.interactive = interactive
        self.failfast = failfast
        self.keepdb = keepdb
        self.reverse = reverse
        self.debug_sql = debug_sql
        if parallel == "auto":
            parallel = os.cpu_count() or 1
        self.parallel = int(parallel or 0)
        self.buffer = buffer
        self.test_name_patterns = None
        if test_name_patterns:
            self.test_name_patterns = [p if "*" in p else "*%s*" % p for p in test_name_patterns]
        self.shuffle = shuffle
        self.durations = durations
        self.database_url = database_url
        self.junit_xml = junit_xml
        try:
            self.shard = parse_shard(shard) if shard else None
        except ValueError as exc:
            raise ConfigurationError("--shard: %s." % exc)
        self.stream = stream if stream is not None else sys.stderr
        #: The app factory ``flask test`` found (``flask --app``), for the
        #: classes that name none when pyproject.toml names none either.
        self.app_factory = app_factory
        self._previous_settings = None
        self.result = None
        self._shuffler = None if shuffle is False else Shuffler(shuffle)
        self._subsuites = None
        self._test_count = None
        self._sql_capture = None
        self._previous_sigterm = None
        self._sys_path_added = None

    # -- options -------------------------------------------------------------
    @classmethod
    def add_arguments(cls, parser):
        parser.add_argument("-t", "--top-level-directory", dest="top_level",
                            help="Top level of project for unittest discovery.")
        parser.add_argument("-p", "--pattern", default="test*.py",
                            help="The test matching pattern. Defaults to test*.py.")
        parser.add_argument("-v", "--verbosity", type=int, default=1, choices=[0, 1, 2, 3],
                            help="Verbosity level; 0=minimal output, 1=normal output, 2=verbose output, "
                                 "3=very verbose output.")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive",
                            help="Do not prompt: an existing test database is destroyed.")
        parser.add_argument("--failfast", action="store_true",
                            help="Stop running the test suite after first failed test.")
        parser.add_argument("--keepdb", action="store_true",
                            help="Preserve the test database between runs (reuse it if it exists); "
                                 "on the throwaway server, keep its data directory for the next run "
                                 "of this project.")
        parser.add_argument("--shuffle", nargs="?", default=False, type=int, metavar="SEED",
                            help="Shuffle the order of test cases to help check that tests are "
                                 "properly isolated. Give the printed seed to replay an order.")
        parser.add_argument("-r", "--reverse", action="store_true",
                            help="Reverse test case order within each group.")
        parser.add_argument("--debug-sql", "-d", action="store_true",
                            help="Print the SQL a failing or erroring test executed.")
        parser.add_argument("--parallel", nargs="?", const="auto", default=0, type=_parallel_type,
                            metavar="N",
                            help="Run tests using up to N parallel processes, each with its own "
                                 "database cloned from the test database. Use 'auto' (the default "
                                 "without N) for one process per core.")
        parser.add_argument("-k", action="append", dest="test_name_patterns", metavar="PATTERN",
                            help="Only run test methods and classes that match the pattern or "
                                 "substring. Can be used multiple times. Same as unittest -k.")
        parser.add_argument("-b", "--buffer", action="store_true",
                            help="Discard output from passing tests.")
        parser.add_argument("--durations", type=int, default=None, metavar="N",
                            help="Show the N slowest test cases (N=0 for all).")
        parser.add_argument("--database-url", metavar="URL",
                            default=None,
                            help="An existing PostgreSQL server to create the test database on "
                                 "(test_<name>); default: $%s, else a throwaway local "
                                 "server." % TEST_DATABASE_URL_ENV)
        parser.add_argument("--junit-xml", metavar="PATH", default=None,
                            help="Write a JUnit XML report to PATH.")
        parser.add_argument("--shard", metavar="K/N", default=None, type=_shard_type,
                            help="Run only the K-th of N slices of the suite (1 <= K <= N), for "
                                 "spreading one suite over N CI jobs: whole test classes, dealt "
                                 "out the same way on every machine; the N shards together run "
                                 "every test once.")

    # -- output --------------------------------------------------------------
    def log(self, message, level=1):
        """Print ``message`` when the verbosity is at least ``level``."""
        if self.verbosity >= level:
            self.stream.write(message + "\n")
            self.stream.flush()

    # -- environment ---------------------------------------------------------
    def setup_test_environment(self, **kwargs):
        root = os.path.abspath(self.top_level or os.getcwd())
        entries = {os.path.abspath(p or os.curdir) for p in sys.path}
        if root not in entries:
            sys.path.insert(0, root)
            self._sys_path_added = root
        if self.debug_sql:
            self._sql_capture = SQLCapture()
            self._sql_capture.install()
        if hasattr(signal, "SIGTERM"):
            try:
                self._previous_sigterm = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
            except ValueError:  # not the main thread
                self._previous_sigterm = None
        self._previous_settings = STATE.settings
        if self.app_factory:
            STATE.settings = dataclasses.replace(STATE.current_settings(), cli_app=self.app_factory)
        # Ctrl-C/SIGTERM must also stop a test blocked in a query or lock wait.
        # Imported here: it loads psycopg2, and --help must stay fast.
        from ..databases.cancel import QueryCanceller
        self._canceller = QueryCanceller(_cancel_targets)
        self._canceller.install()

    def teardown_test_environment(self, **kwargs):
        if getattr(self, "_canceller", None) is not None:
            self._canceller.uninstall()
            self._canceller = None
        if self._previous_sigterm is not None:
            try:
                signal.signal(signal.SIGTERM, self._previous_sigterm)
            except ValueError:  # pragma: no cover
                pass
            self._previous_sigterm = None
        if self._sql_capture is not None:
            self._sql_capture.uninstall()
            self._sql_capture = None
        STATE.settings = self._previous_settings

    # -- suite ---------------------------------------------------------------
    def make_loader(self):
        loader = self.test_loader_class()
        if self.test_name_patterns:
            loader.testNamePatterns = list(self.test_name_patterns)
        return loader

    def load_tests_for_label(self, label):
        """Load the tests one label names: a directory, a .py file, a dotted
        package (discovered), or a dotted module/class/method name."""
        return load_tests_for_label(label, self.make_loader, self.pattern, self.top_level)

    def build_suite(self, test_labels=None, **kwargs):
        labels = list(test_labels or []) or [self.top_level or "."]
        tests = []
        for label in labels:
            tests.extend(iter_test_cases(self.load_tests_for_label(label)))
        if self.shard is not None:
            found = len(tests)
            tests = shard_tests(tests, *self.shard)
            self.log("Shard %d/%d: %d of %d test(s)." % (self.shard + (len(tests), found)), 2)
        if self._shuffler is not None:
            self.log("Using shuffle seed: %s" % self._shuffler.seed_display)
        tests = list(reorder_tests(tests, self.reorder_by, reverse=self.reverse, shuffler=self._shuffler))
        self.log("Found %d test(s)." % len(tests), 2)
        self._test_count = len(tests)
        suite = self.test_suite(tests)
        if self.parallel > 1:
            self._subsuites = partition_by_class(tests)
            self.parallel = min(self.parallel, len(self._subsuites))
        return suite

    # -- databases -----------------------------------------------------------
    def setup_databases(self, **kwargs):
        """Make the test database exist and publish it in the environment.

        Returns the state ``teardown_databases`` needs. On any failure it
        undoes what it did before raising.
        """
        state = DatabaseState()
        if self._test_count == 0:
            self.log("No tests: skipping the test database.", 2)
            state.restore = False
            return state
        started = time.perf_counter()
        setup_databases(state, self.log, database_url=self.database_url, keepdb=self.keepdb,
                        interactive=self.interactive, parallel=self.parallel,
                        project=os.path.abspath(self.top_level or os.getcwd()))
        self.log("Database setup took %.3fs." % (time.perf_counter() - started), 2)
        return state

    def teardown_databases(self, old_config, **kwargs):
        """Destroy what ``setup_databases`` created (unless --keepdb)."""
        teardown_databases(old_config, self.log, keepdb=self.keepdb)

    # -- running -------------------------------------------------------------
    def get_test_runner_kwargs(self):
        return {
            "stream": self.stream,
            "failfast": self.failfast,
            "verbosity": self.verbosity,
            "buffer": self.buffer and self.parallel <= 1,
            "resultclass": self.result_class,
            "durations": self.durations,
            "sql_capture": self._sql_capture if self.parallel <= 1 else None,
            "on_result": self._set_result,
        }

    def _set_result(self, result):
        self.result = result

    def run_suite(self, suite, **kwargs):
        runner = self.test_runner(**self.get_test_runner_kwargs())
        if self.parallel > 1 and self._subsuites:
            suite = self._parallel_suite()
        return runner.run(suite)

    def _parallel_suite(self):
        """The class groups in worker processes, their results replayed here."""
        from .parallel import ParallelTestSuite

        self.log("Running %d test classes in %d processes." % (len(self._subsuites), self.parallel), 2)
        return ParallelTestSuite(self._subsuites, self.parallel, STATE.databases, failfast=self.failfast,
                                 buffer=self.buffer, sql_capture=self._sql_capture)

    def suite_result(self, suite, result, **kwargs):
        return len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)

    def summary_line(self, result):
        """The last line of every run: ``N passed, N failed[, N skipped]``."""
        if hasattr(result, "counts"):
            passed, failed, skipped = result.counts()
        else:
            failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
            skipped = len(result.skipped)
            passed = max(0, result.testsRun - failed - skipped)
        line = "%d passed, %d failed" % (passed, failed)
        if skipped:
            line += ", %d skipped" % skipped
        return line

    def run_tests(self, test_labels, **kwargs):
        """Run the tests; return the number of failures, errors and unexpected successes."""
        self.setup_test_environment()
        try:
            suite = self.build_suite(test_labels)
            old_config = self.setup_databases()
            run_failed = False
            try:
                result = self.run_suite(suite)
            except BaseException:
                run_failed = True
                raise
            finally:
                try:
                    self.teardown_databases(old_config)
                except Exception:
                    if not run_failed:
                        raise
        except KeyboardInterrupt:
            ran = self.result.testsRun if self.result is not None else 0
            self.stream.write("\nInterrupted: %d test%s ran\n" % (ran, "" if ran == 1 else "s"))
            self.stream.flush()
            raise
        finally:
            self.teardown_test_environment()
        if self.junit_xml and hasattr(result, "write_junit_xml"):
            result.write_junit_xml(self.junit_xml)
            self.log("JUnit XML report written to %s" % self.junit_xml, 2)
        if self._shuffler is not None:
            self.log("Used shuffle seed: %s" % self._shuffler.seed_display)
        self.stream.write(self.summary_line(result) + "\n")
        self.stream.flush()
        return self.suite_result(suite, result)


def _cancel_targets():
    return STATE.databases.cancel_targets() if STATE.databases is not None else []


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt("SIGTERM")


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def _load_runner_class(spec):
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigurationError("--runner takes module:Class, e.g. myproject.testing:MyRunner; got %r." % spec)
    cwd = os.getcwd()
    if cwd not in {os.path.abspath(p or os.curdir) for p in sys.path}:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
        runner_class = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError("Could not load the test runner %r: %s. Check the module path and "
                                 "the class name." % (spec, exc))
    if not (isinstance(runner_class, type) and hasattr(runner_class, "run_tests")):
        raise ConfigurationError("--runner %r is not a test runner class (it needs run_tests())." % spec)
    return runner_class


def _pick_runner_spec(argv):
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--runner", default=None)
    options, _ = pre.parse_known_args(argv)
    return options.runner or STATE.current_settings().runner


def build_parser(runner_class=DBTestRunner, prog=None, add_help=True):
    """The command line parser: labels, --runner and the runner's options."""
    parser = argparse.ArgumentParser(
        prog=prog or "python -m flask_dbtestcase", add_help=add_help,
        description="Run tests against a test database created for the run and destroyed after it.",
        epilog="The database: $%s if set (used as is); else test_<name> on --database-url / "
               "$%s (dropped at the end unless --keepdb); else a throwaway local PostgreSQL. "
               "Exit status: 0 all passed, 1 some failed, 2 usage or set-up error, 130 "
               "interrupted." % (DATABASE_URL_ENV, TEST_DATABASE_URL_ENV))
    parser.add_argument("labels", nargs="*", metavar="label",
                        help="Module paths, dotted names (module, module.Class, module.Class.test_method) "
                             "or directories to run tests from. Default: discover from the current "
                             "directory.")
    parser.add_argument("--runner", metavar="MODULE:CLASS", default=None,
                        help=f"Use this DBTestRunner subclass (also ${RUNNER_ENV}).")
    runner_class.add_arguments(parser)
    return parser


def main(argv=None, prog=None, app_factory=None):
    """Entry point of ``python -m flask_dbtestcase`` and ``flask test``.

    ``app_factory`` is the app ``flask test`` found (``flask --app``).

    Returns the process exit code: 0 all passed, 1 failures, 2 usage or
    set-up error, 130 interrupted.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        spec = _pick_runner_spec(argv)
        runner_class = _load_runner_class(spec) if spec else DBTestRunner
    except DBTestCaseError as exc:
        sys.stderr.write("error: %s\n" % exc)
        return 2
    parser = build_parser(runner_class, prog=prog)
    try:
        options = parser.parse_intermixed_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    kwargs = dict(vars(options))
    labels = kwargs.pop("labels")
    kwargs.pop("runner", None)
    if app_factory:
        kwargs["app_factory"] = app_factory
    try:
        runner = runner_class(**kwargs)
        failures = runner.run_tests(labels)
    except DBTestCaseError as exc:
        sys.stderr.write("error: %s\n" % exc)
        sys.stderr.flush()
        return 2
    except KeyboardInterrupt:
        return 130
    return 1 if failures else 0
