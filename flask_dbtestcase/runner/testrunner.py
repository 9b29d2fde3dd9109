"""The test runner: one test database for the whole run, Django's way.

``DBTestRunner`` is shaped like Django's ``DiscoverRunner``: every command
line option is an ``__init__`` argument, ``add_arguments(parser)`` declares
them, and ``run_tests(labels)`` runs the steps a subclass can override::

    setup_test_environment() -> build_suite(labels) -> setup_databases()
    -> run_suite(suite) -> teardown_databases(state)  (always, in finally)
    -> teardown_test_environment() -> suite_result(suite, result)

The settings are settled once, when the runner is made; the databases are
opened through the one door (:func:`~flask_dbtestcase.databases.lifecycle.open_test_databases`)
and reach the test classes as the run this runner enters
(:mod:`flask_dbtestcase.state`), and the processes the tests start through
``FLASK_DBTESTCASE_DATABASE_URL``. This module imports only the standard
library at import time, so ``python -m flask_dbtestcase --help`` stays fast;
the database helpers are imported when the databases are set up.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
import typing as t
import unittest

from ..settings import Settings, ignored_settings
from ..state import Run, current_run, leave_run
from .colour import colour_wanted, paint
from .environment import RunEnvironment
from .loading import load_tests_for_label, no_tests_hint
from .options import add_runner_arguments, name_patterns, shard_option, worker_count
from .ordering import (
    PackageCases,
    Shuffler,
    iter_test_cases,
    plan_workers,
    select_tests,
)
from .report import interrupted_line, write_closing
from .report import summary_line as _summary_line
from .results import DBTestResult, DBTextTestRunner
from .sqlcapture import SQLCapture

if t.TYPE_CHECKING:  # imported when the databases are set up (they load SQLAlchemy)
    from ..databases.lifecycle import TestDatabases

__all__ = ["DBTestRunner"]


class DBTestRunner:
    """Discover and run tests against one test database for the whole run.

    Every argument is a command line option of the same name (see
    :meth:`add_arguments`).

    :param pattern: the file name pattern of discovery (default ``test*.py``).
    :param top_level: the top level directory of discovery (``-t``).
    :param verbosity: 0 (minimal), 1 (normal), 2 (verbose) or 3 (very verbose).
    :param interactive: ask before destroying an existing test database.
    :param failfast: stop at the first failure or error.
    :param keepdb: keep the test database (and the throwaway server's data) for the next run.
    :param reverse: reverse the order of the tests within each group.
    :param debug_sql: print the SQL a failing or erroring test executed.
    :param parallel: the number of worker processes, or ``"auto"`` (one per core).
    :param buffer: discard the output of passing tests.
    :param test_name_patterns: run only the tests matching these patterns (``-k``).
    :param shuffle: shuffle the tests with this seed (``None``: a new seed; ``False``: don't).
    :param durations: print the N slowest tests (0: all).
    :param database_url: an existing server to create the test database on.
    :param junit_xml: write a JUnit XML report there.
    :param shard: run only the K-th of N slices of the suite: ``"K/N"`` or ``(K, N)``.
    :param tags: run only the tests with one of these tags (:func:`flask_dbtestcase.tag`).
    :param exclude_tags: leave out the tests with one of these tags.
    :param pdb: open pdb on each error or failure (not with ``parallel``).
    :param no_color: print no colour, even on a terminal.
    :param stream: where the report is written (default: stderr).
    :param app_factory: the app factory ``flask test`` found (``flask --app``).
    :param migrations: build the schema from the migrations (``--migrations``) or
        with ``create_all`` (``--no-migrations``); ``None``: the ``schema`` setting.
    """

    test_suite: type[unittest.TestSuite] = unittest.TestSuite
    test_runner: type[unittest.TextTestRunner] = DBTextTestRunner
    test_loader_class: type[unittest.TestLoader] = unittest.TestLoader
    result_class: type[unittest.TextTestResult] = DBTestResult
    #: ``--parallel auto`` runs serially below this many tests, where workers
    #: cannot pay for their start-up (Rails' ``parallelize`` threshold).
    parallel_threshold: int = 50
    #: Test classes run first, in this order (see build_suite), as Django's
    #: ``reorder_by``: by default FlaskDBTestCase, then FlaskDBTransactionTestCase.
    reorder_by = PackageCases()

    _run: Run | None = None

    def __init__(
        self,
        pattern: str | None = None,
        top_level: str | None = None,
        verbosity: int = 1,
        interactive: bool = True,
        failfast: bool = False,
        keepdb: bool = False,
        reverse: bool = False,
        debug_sql: bool = False,
        parallel: int | str = 0,
        buffer: bool = False,
        test_name_patterns: t.Sequence[str] | None = None,
        shuffle: int | bool | None = False,
        durations: int | None = None,
        database_url: str | None = None,
        junit_xml: str | None = None,
        shard: str | tuple[int, int] | None = None,
        tags: t.Sequence[str] | None = None,
        exclude_tags: t.Sequence[str] | None = None,
        pdb: bool = False,
        no_color: bool = False,
        migrations: bool | None = None,
        stream: t.TextIO | None = None,
        app_factory: str | None = None,
        **kwargs: t.Any,
    ) -> None:
        self.pattern = pattern or "test*.py"
        self.top_level = top_level
        self.verbosity = verbosity
        self.interactive = interactive
        self.failfast = failfast
        self.keepdb = keepdb
        self.reverse = reverse
        self.debug_sql = debug_sql
        #: ``--parallel auto``: one worker per core, serially below ``parallel_threshold`` tests.
        self.parallel_auto = parallel == "auto"
        self.parallel = worker_count(parallel, pdb)
        self.buffer = buffer
        self.test_name_patterns = name_patterns(test_name_patterns)
        self.shuffle = shuffle
        self.durations = durations
        self.database_url = database_url
        self.junit_xml = junit_xml
        self.shard = shard_option(shard)
        self.stream = stream if stream is not None else sys.stderr
        self.tags = set(tags or ())
        self.exclude_tags = set(exclude_tags or ())
        self.pdb = pdb
        self.no_color = no_color
        #: The app factory ``flask test`` found (``flask --app``), for the
        #: classes that name none when pyproject.toml names none either.
        self.app_factory = app_factory
        #: ``--migrations`` / ``--no-migrations`` (None: the ``schema`` setting).
        self.migrations = migrations
        #: The settings of the run, settled once, here (the environment and pyproject.toml).
        self.settings = Settings.load().overridden(cli_app=app_factory, migrations=migrations)
        #: Whether the report is in colour (a terminal, --no-color, NO_COLOR, FORCE_COLOR).
        self.colour = colour_wanted(self.stream, no_color, self.settings)
        self._environment: RunEnvironment | None = None
        self.result: unittest.TestResult | None = None
        self._shuffler = None if shuffle is False else Shuffler(shuffle)
        self._subsuites: list[list[unittest.TestCase]] | None = None
        self.tests_found: int | None = None  # discovered, before --shard
        #: Set-up errors of the run (a bad app factory, no database): exit status 2.
        self.setup_errors = 0
        self._test_count: int | None = None

    # -- options -------------------------------------------------------------
    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Declare the runner's command line options, one per ``__init__`` argument.

        :param parser: the command line parser (see
            :func:`~flask_dbtestcase.runner.command.build_parser`).
        """
        add_runner_arguments(parser)

    # -- output --------------------------------------------------------------
    def log(self, message: str, level: int = 1) -> None:
        """Print ``message`` when the verbosity is at least ``level``.

        :param message: the line to print.
        :param level: the verbosity from which it is printed.
        """
        if self.verbosity >= level:
            self.stream.write(message + "\n")
            self.stream.flush()

    # -- environment ---------------------------------------------------------
    def setup_test_environment(self, **kwargs: t.Any) -> None:
        """Prepare the process: ``sys.path``, ``--debug-sql``; start the throwaway server."""
        self._environment = RunEnvironment(self.top_level or os.getcwd(), debug_sql=self.debug_sql)
        # The throwaway server starts first, while the environment's imports
        # (SQLAlchemy, the driver) and the tests load.
        if self.needs_throwaway_server():
            self._environment.start_server(self.settings, self.keepdb, self._project())
        try:
            self._environment.install()
        except BaseException:
            self.teardown_test_environment()
            raise
        notice = ignored_settings(self.settings, under_runner=True)
        if notice:
            self.log(paint(notice, "yellow", self.colour))

    def needs_throwaway_server(self) -> bool:
        """Tell whether the run will start a throwaway server (no database given)."""
        settings = self.settings
        given = current_run() is not None or settings.database_url
        return not (given or self.database_url or settings.test_database_url)

    def _project(self) -> str:
        """The project's directory: keys the kept data of ``--keepdb``."""
        return os.path.abspath(self.top_level or os.getcwd())

    def teardown_test_environment(self, **kwargs: t.Any) -> None:
        """Undo ``setup_test_environment``."""
        if self._environment is not None:
            self._environment.uninstall()
            self._environment = None

    @property
    def _sql_capture(self) -> SQLCapture | None:
        """The ``--debug-sql`` capture, while the test environment is set up."""
        return self._environment.sql_capture if self._environment is not None else None

    # -- suite ---------------------------------------------------------------
    def make_loader(self) -> unittest.TestLoader:
        """Return a new test loader, with the ``-k`` patterns."""
        loader = self.test_loader_class()
        if self.test_name_patterns:
            loader.testNamePatterns = list(self.test_name_patterns)
        return loader

    def load_tests_for_label(self, label: str) -> unittest.TestSuite:
        """Load the tests one label names.

        :param label: a directory, a .py file, a dotted package (discovered),
            or a dotted module/class/method name.
        """
        return load_tests_for_label(label, self.make_loader, self.pattern, self.top_level)

    def build_suite(
        self, test_labels: t.Sequence[str] | None = None, **kwargs: t.Any
    ) -> unittest.TestSuite:
        """Load, shard, shuffle and order the tests the labels name.

        :param test_labels: what to run (default: discover from the top level
            directory or the current one).
        """
        labels = list(test_labels or []) or [self.top_level or "."]
        tests: list[unittest.TestCase] = []
        for label in labels:
            tests.extend(iter_test_cases(self.load_tests_for_label(label)))
        selection = select_tests(
            tests,
            self.log,
            tags=self.tags,
            exclude_tags=self.exclude_tags,
            shard=self.shard,
            shuffler=self._shuffler,
            classes_first=self.reorder_by,
            reverse=self.reverse,
        )
        self.tests_found, tests = selection
        self.log(f"Found {len(tests)} test(s).", 2)
        self._test_count = len(tests)
        threshold = self.parallel_threshold if self.parallel_auto else 0
        self.parallel, self._subsuites = plan_workers(tests, self.parallel, threshold, self.log)
        return self.test_suite(tests)

    # -- databases -----------------------------------------------------------
    def setup_databases(self, **kwargs: t.Any) -> TestDatabases | None:
        """Make the test database exist, hand it over, and enter the run.

        Returns what ``teardown_databases`` undoes (``None``: no tests, no
        database). On any failure it undoes what it did before raising.
        """
        if self._test_count == 0:
            self.log("No tests: skipping the test database.", 2)
            return None
        assert self._environment is not None  # setup_test_environment made it
        started = time.perf_counter()
        self._run = self._environment.open_run(
            self.settings,
            self.log,
            database_url=self.database_url,
            keepdb=self.keepdb,
            interactive=self.interactive,
            parallel=self.parallel,
            project=self._project(),
        )
        self.log(f"Database setup took {time.perf_counter() - started:.3f}s.", 2)
        return self._run.databases

    def teardown_databases(self, old_config: TestDatabases | None, **kwargs: t.Any) -> None:
        """Destroy what ``setup_databases`` created (unless --keepdb), and leave the run.

        :param old_config: what ``setup_databases`` returned.
        """
        run, self._run = self._run, None
        if run is not None:
            leave_run(run)
        if old_config is not None:
            old_config.close(self.log)

    # -- running -------------------------------------------------------------
    def get_test_runner_kwargs(self) -> dict[str, t.Any]:
        """Return the keyword arguments of ``test_runner``."""
        return {
            "stream": self.stream,
            "failfast": self.failfast,
            "verbosity": self.verbosity,
            "buffer": self.buffer and self.parallel <= 1,
            "resultclass": self.result_class,
            "durations": self.durations,
            "sql_capture": self._sql_capture if self.parallel <= 1 else None,
            "on_result": functools.partial(setattr, self, "result"),
            "colour": self.colour,
            "pdb": self.pdb,
        }

    def run_suite(self, suite: unittest.TestSuite, **kwargs: t.Any) -> unittest.TestResult:
        """Run the suite (in worker processes with ``--parallel``); return the result.

        :param suite: what ``build_suite`` returned.
        """
        runner = self.test_runner(**self.get_test_runner_kwargs())
        if self.parallel > 1 and self._subsuites and self._run is not None:
            from .parallel import ParallelTestSuite  # the worker plumbing: --parallel only

            groups = len(self._subsuites)
            self.log(f"Running {groups} test classes in {self.parallel} processes.", 2)
            suite = ParallelTestSuite(
                self._subsuites, self.parallel, self._run, failfast=self.failfast,
                buffer=self.buffer, sql_capture=self._sql_capture,
            )  # fmt: skip
        return runner.run(suite)

    def suite_result(
        self, suite: unittest.TestSuite, result: unittest.TestResult, **kwargs: t.Any
    ) -> int:
        """Return the number of failures, errors and unexpected successes.

        :param suite: the suite that ran.
        :param result: its result.
        """
        return len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)

    def summary_line(self, result: unittest.TestResult) -> str:
        """Return the last line of every run: ``N passed, N failed[, N skipped]``.

        :param result: the run's result.
        """
        return _summary_line(result)

    def run_tests(self, test_labels: t.Sequence[str] | None, **kwargs: t.Any) -> int:
        """Run the tests; return the number of failures, errors and unexpected successes.

        :param test_labels: what to run (see :meth:`build_suite`).
        """
        self.setup_test_environment()
        try:
            suite = self.build_suite(test_labels)
            old_config = self.setup_databases()
            run_failed = False
            stop: tuple[str, str] | None = None
            try:
                result = self.run_suite(suite)
            except BaseException:
                run_failed = True
                raise
            finally:
                stop = old_config.server_stop() if old_config is not None else None
                try:
                    self.teardown_databases(old_config)
                except Exception:
                    if not run_failed:
                        raise
        except KeyboardInterrupt:
            ran = self.result.testsRun if self.result is not None else 0
            self.stream.write(f"\n{paint(interrupted_line(ran), 'yellow', self.colour)}\n")
            self.stream.flush()
            raise
        finally:
            self.teardown_test_environment()
        if self.junit_xml and hasattr(result, "write_junit_xml"):
            result.write_junit_xml(self.junit_xml)
            self.log(f"JUnit XML report written to {self.junit_xml}", 2)
        if self._shuffler is not None:
            self.log(f"Used shuffle seed: {self._shuffler.seed_display}")
        hint = None
        if not self.tests_found:
            tags, patterns = sorted(self.tags | self.exclude_tags), self.test_name_patterns or []
            hint = no_tests_hint(test_labels or [], self.pattern, self.top_level, patterns, tags)
        failures = self.suite_result(suite, result)
        summary = self.summary_line(result)
        self.setup_errors = write_closing(
            self.stream, self.colour, result, stop, hint, summary, failures > 0
        )
        return failures
