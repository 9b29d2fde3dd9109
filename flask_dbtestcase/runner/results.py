"""What a run reports: unittest's text result with per-test timings and
outcomes, colour, ``--durations``, ``--debug-sql``, ``--pdb`` and the JUnit
XML report.
"""

from __future__ import annotations

import contextlib
import sys
import time
import typing as t
import unittest
from collections import OrderedDict

from .colour import ColourStream, paint
from .ordering import class_key
from .outcomes import (
    OptExcInfo,
    ResultMixin,
    exception_class,
    exception_message,
    exception_type,
    is_setup_error,
)
from .progress import ProgressStream, report_width
from .sqlcapture import SQLCapture

if t.TYPE_CHECKING:  # the report module is imported by --junit-xml runs only (xml.etree)
    from .junit import ResultRecord

__all__ = ["DBTestResult", "DBTextTestRunner"]


class DBTestResult(ResultMixin, unittest.TextTestResult):
    """Report as unittest's text result does, plus per-test timing, per-test
    outcomes (for the summary line and the JUnit report) and ``--durations``.

    :param stream: where the report is written (unittest's stream wrapper).
    :param descriptions: print the tests' docstrings' first lines too.
    :param verbosity: 0, 1 (dots) or 2 (one line per test).
    """

    def __init__(self, stream: t.Any, descriptions: bool, verbosity: int, **kwargs: t.Any) -> None:
        kwargs.pop("durations", None)  # Python 3.12 passes it; we do our own
        super().__init__(stream, descriptions, verbosity, **kwargs)
        self.verbosity = verbosity
        self.durations: int | None = None  # number of slowest tests to print, 0 = all
        self.test_durations: list[tuple[unittest.TestCase, float]] = []  # (test, seconds)
        self.records: OrderedDict[str, ResultRecord] = OrderedDict()  # test id -> record
        self._started: dict[unittest.TestCase, float] = {}
        self._remote_elapsed: dict[unittest.TestCase, float] = {}
        self.start_time = time.perf_counter()
        self.stop_time: float | None = None
        #: The ids of the tests (or set-up holders) with a set-up error
        #: (:func:`is_setup_error`): the run exits 2.
        self.setup_error_ids: list[str] = []
        #: The report's stream, when it can colour (set by DBTextTestRunner).
        self.colour_stream: ColourStream | None = None
        #: Open the debugger on each failure and error (``--pdb``).
        self.pdb = False
        #: The report's stream, following its column (set by DBTextTestRunner),
        #: and the number of tests the run has: the progress at verbosity 1.
        self.progress_stream: ProgressStream | None = None
        self.total: int | None = None

    # -- colour and --pdb ----------------------------------------------------
    @contextlib.contextmanager
    def _painted(self, colour: str) -> t.Iterator[None]:
        """Colour what unittest writes meanwhile (a test's status)."""
        stream = self.colour_stream
        if stream is None:
            yield
            return
        previous, stream.colour = stream.colour, colour
        try:
            yield
        finally:
            stream.colour = previous

    @property
    def colour(self) -> bool:
        """Whether the report is in colour."""
        return self.colour_stream is not None and self.colour_stream.enabled

    def debug(self, err: OptExcInfo) -> None:
        """Open pdb on the traceback of ``err`` (``--pdb``), as Django's ``--pdb`` does.

        :param err: the ``sys.exc_info()`` of the failure or error.
        """
        import pdb

        # The debugger talks to the terminal, not to -b's buffer (as Django's --pdb).
        t.cast(t.Any, self)._restoreStdout()
        self.buffer = False
        self.stream.writeln(f"\nOpening PDB: {err[1]!r}")
        self.stream.flush()
        pdb.post_mortem(err[2])

    # -- progress (verbosity 1) ------------------------------------------------
    def _percent(self) -> int:
        assert self.total  # _shows_progress checks it first
        return min(100, self.testsRun * 100 // self.total)

    def _shows_progress(self) -> bool:
        return self.verbosity == 1 and self.progress_stream is not None and bool(self.total)

    def _tick(self) -> None:
        """End a full line of statuses with the progress, as pytest does."""
        if self._shows_progress():
            assert self.progress_stream is not None
            if self.progress_stream.line_full():
                self.progress_stream.end_line(self._percent())
                self.stream.flush()

    # -- bookkeeping -------------------------------------------------------
    def _record(self, test: unittest.TestCase) -> ResultRecord:
        key = test.id()
        record = self.records.get(key)
        if record is None:
            if isinstance(test, unittest.TestCase):
                classname = class_key(test)
                name = getattr(test, "_testMethodName", key.rsplit(".", 1)[-1])
            else:
                # "setUpClass (module.Class)" and the like
                description = str(test)
                name, _, rest = description.partition(" (")
                classname = rest.rstrip(")") if rest else name
            record = {
                "classname": classname,
                "name": name,
                "time": 0.0,
                "outcome": "passed",
                "details": [],
            }
            self.records[key] = record
        return record

    def _mark(
        self,
        test: unittest.TestCase,
        outcome: str,
        kind: str | None = None,
        err: OptExcInfo | None = None,
        text: str | None = None,
        message: str | None = None,
    ) -> None:
        record = self._record(test)
        rank = {"passed": 0, "skipped": 1, "failed": 2}
        if rank[outcome] >= rank[record["outcome"]]:
            record["outcome"] = outcome
        if kind is not None:
            exc_type: str | None
            if err is not None:
                message = exception_message(err)
                exc_type = exception_type(err)
            else:
                exc_type = None
            record["details"].append(
                {"kind": kind, "message": message or "", "type": exc_type, "text": text or ""}
            )

    def set_remote_elapsed(self, test: unittest.TestCase, seconds: float) -> None:
        """Take the duration a worker measured for ``test`` as its own.

        :param test: the test, about to be stopped.
        :param seconds: how long it ran in the worker.
        """
        self._remote_elapsed[test] = seconds

    # -- unittest hooks ----------------------------------------------------
    def startTestRun(self) -> None:
        self.start_time = time.perf_counter()
        super().startTestRun()

    def stopTestRun(self) -> None:
        self.stop_time = time.perf_counter()
        super().stopTestRun()
        if self.colour_stream is not None:
            self.colour_stream.closing = True

    def startTest(self, test: unittest.TestCase) -> None:
        self._started[test] = time.perf_counter()
        self._record(test)
        self._start_sql()
        super().startTest(test)

    def stopTest(self, test: unittest.TestCase) -> None:
        super().stopTest(test)
        self._stop_sql()
        started = self._started.pop(test, None)
        elapsed = self._remote_elapsed.pop(test, None)
        if elapsed is None:
            elapsed = time.perf_counter() - started if started is not None else 0.0
        self.test_durations.append((test, elapsed))
        self._record(test)["time"] = elapsed

    def addSuccess(self, test: unittest.TestCase) -> None:
        with self._painted("green"):
            super().addSuccess(test)
        self._mark(test, "passed")
        self._tick()

    def addFailure(self, test: unittest.TestCase, err: OptExcInfo) -> None:
        with self._painted("red"):
            super().addFailure(test, err)
        self._mark(test, "failed", "failure", err, self.failures[-1][1])
        self._tick()
        if self.pdb:
            self.debug(err)

    def addError(self, test: unittest.TestCase, err: OptExcInfo) -> None:
        with self._painted("red"):
            super().addError(test, err)
        if is_setup_error(err):
            self.setup_error_ids.append(test.id())
        self._mark(test, "failed", "error", err, self.errors[-1][1])
        self._tick()
        if self.pdb:
            self.debug(err)

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        with self._painted("yellow"):
            super().addSkip(test, reason)
        self._mark(test, "skipped", "skipped", text="", message=reason)
        self._tick()

    def addExpectedFailure(self, test: unittest.TestCase, err: OptExcInfo) -> None:
        with self._painted("yellow"):
            super().addExpectedFailure(test, err)
        self._mark(test, "passed")
        self._tick()

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:
        with self._painted("red"):
            super().addUnexpectedSuccess(test)
        self._mark(test, "failed", "failure", text="", message="Unexpected success")
        self._tick()

    def addSubTest(
        self, test: unittest.TestCase, subtest: unittest.TestCase, err: OptExcInfo | None
    ) -> None:
        with self._painted("red"):
            super().addSubTest(test, subtest, err)
        if err is not None:
            is_failure = issubclass(exception_class(err), test.failureException)
            entries = self.failures if is_failure else self.errors
            text = f"{subtest}\n{entries[-1][1]}"
            self._mark(test, "failed", "failure" if is_failure else "error", err, text)
            self._tick()
            if self.pdb:
                self.debug(err)

    # -- counts --------------------------------------------------------------
    def counts(self) -> tuple[int, int, int]:
        """Return (passed, failed, skipped) as the summary line reports them.

        Tests are counted, not error entries: a test that failed and then
        errored in tearDown, or failed in three subtests, is one failed
        test. A set-up error (:attr:`setup_error_ids`: a bad app factory, no
        database, a test module that cannot be imported) is not a failed
        test: :meth:`setup_error_count` counts them.
        """
        setup = set(self.setup_error_ids)
        outcomes = [r["outcome"] for key, r in self.records.items() if key not in setup]
        passed = sum(1 for o in outcomes if o == "passed")
        failed = sum(1 for o in outcomes if o == "failed")
        skipped = sum(1 for o in outcomes if o == "skipped")
        return passed, failed, skipped

    def setup_error_count(self) -> int:
        """Return the number of tests and set-up holders (setUpClass, a
        module's import) that had a set-up error."""
        return len(set(self.setup_error_ids))

    # -- output --------------------------------------------------------------
    def printErrorList(self, flavour: str, errors: t.Iterable[tuple[t.Any, str]]) -> None:
        # unittest's, with the "FAIL: test" and "ERROR: test" headings in colour.
        for test, err in errors:
            self.stream.writeln(self.separator1)
            heading = f"{flavour}: {self.getDescription(test)}"
            self.stream.writeln(paint(heading, "red", self.colour))
            self.stream.writeln(self.separator2)
            self.stream.writeln(f"{err}")
            self.stream.flush()

    def printErrors(self) -> None:
        ended = False
        if self._shows_progress():
            assert self.progress_stream is not None
            if self.progress_stream.column:  # unittest's newline ends it
                self.progress_stream.end_line(self._percent(), newline=False)
            else:  # the last line ended full: no empty line after it
                ended, self.dots = self.dots, False
        try:
            super().printErrors()
        finally:
            self.dots = self.dots or ended
        if self.durations is not None:
            self.print_durations()

    def print_durations(self) -> None:
        """Print the slowest tests, as ``--durations`` asks."""
        # The format of Python 3.12's ``unittest --durations``.
        if not self.test_durations:
            return
        slowest = sorted(self.test_durations, key=lambda item: item[1], reverse=True)
        assert self.durations is not None  # printErrors calls this only with --durations
        if self.durations > 0:
            slowest = slowest[: self.durations]
        self.stream.writeln("Slowest test durations")
        self.stream.writeln(self.separator2)
        hidden = False
        for test, elapsed in slowest:
            if self.verbosity < 2 and elapsed < 0.001:
                hidden = True
                continue
            seconds = f"{elapsed:.3f}s"
            self.stream.writeln(f"{seconds:<10} {test}")
        if hidden:
            self.stream.writeln(
                "\n(durations < 0.001s were hidden; use -v to show these durations)"
            )
        else:
            self.stream.writeln("")
        self.stream.flush()

    def write_junit_xml(self, path: str, suite_name: str = "flask_dbtestcase") -> None:
        """Write a JUnit XML report of this result to ``path``.

        :param path: the report file; its directory is created if needed.
        :param suite_name: the name of the report's test suite.
        """
        from .junit import write_report  # xml.etree: only a --junit-xml run needs it

        write_report(path, list(self.records.values()), self.start_time, self.stop_time, suite_name)


class DBTextTestRunner(unittest.TextTestRunner):
    """Run as TextTestRunner does, configuring the result and reporting it back.

    :param stream: where the report is written (default: stderr).
    :param on_result: called with the result as soon as it is made.
    :param durations: the result's ``durations`` (``--durations``).
    :param sql_capture: the result's ``--debug-sql`` capture.
    :param colour: colour the report (see :func:`~.colour.colour_wanted`).
    :param pdb: open the debugger on each failure and error (``--pdb``).
    """

    def __init__(
        self,
        stream: t.Any = None,
        *args: t.Any,
        on_result: t.Callable[[unittest.TestResult], None] | None = None,
        durations: int | None = None,
        sql_capture: SQLCapture | None = None,
        colour: bool = False,
        pdb: bool = False,
        **kwargs: t.Any,
    ) -> None:
        kwargs.setdefault("resultclass", DBTestResult)
        stream = sys.stderr if stream is None else stream
        self._colour_stream = ColourStream(stream, colour)
        self._progress_stream = ProgressStream(self._colour_stream, report_width(stream))
        super().__init__(self._progress_stream, *args, **kwargs)
        self._on_result = on_result
        self._durations = durations
        self._sql_capture = sql_capture
        self._pdb = pdb
        self._total: int | None = None

    def run(self, test: unittest.TestSuite | unittest.TestCase) -> unittest.TextTestResult[t.Any]:
        """Run ``test`` as TextTestRunner does; the result knows how many tests it has.

        :param test: the suite.
        """
        self._total = test.countTestCases()
        return super().run(test)

    def _makeResult(self) -> DBTestResult:
        # resultclass is DBTestResult or a class shaped like it.
        result = t.cast(
            DBTestResult, self.resultclass(self.stream, self.descriptions, self.verbosity)
        )
        result.durations = self._durations
        result.sql_capture = self._sql_capture
        result.colour_stream = self._colour_stream
        result.pdb = self._pdb
        result.progress_stream = self._progress_stream
        result.total = self._total
        if self._on_result is not None:
            self._on_result(result)
        return result
