"""What a run reports: unittest's text result with per-test timings and
outcomes, ``--durations``, ``--debug-sql`` and the JUnit XML report.
"""

from __future__ import annotations

import logging
import os
import time
import unittest
import xml.etree.ElementTree as ET
from collections import OrderedDict

from ..errors import DBTestCaseError
from .ordering import class_key

class RemoteError(Exception):
    """An error already formatted elsewhere (a parallel worker)."""

    def __init__(self, text, message, exc_type):
        super().__init__(message)
        self.text = text
        self.message = message
        self.exc_type = exc_type


def exception_message(err):
    """'ExcType: first line of the message', for JUnit's message attribute."""
    exc_type, value = err[0], err[1]
    if isinstance(value, RemoteError):
        return value.message
    text = str(value).strip()
    name = getattr(exc_type, "__name__", str(exc_type))
    return "%s: %s" % (name, text) if text else name


def exception_type(err):
    if isinstance(err[1], RemoteError):
        return err[1].exc_type
    exc_type = err[0]
    return "%s.%s" % (exc_type.__module__, exc_type.__qualname__) if exc_type.__module__ != "builtins" \
        else exc_type.__qualname__


class SQLCapture(logging.Handler):
    """Collects the SQL SQLAlchemy logs during one test (``--debug-sql``)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.buffer = None
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record):
        if self.buffer is not None:
            try:
                self.buffer.append(self.format(record))
            except Exception:  # pragma: no cover - never break a test over logging
                pass

    def install(self):
        """Take over SQLAlchemy's SQL logging until ``uninstall()``."""
        logger = logging.getLogger(_SQL_LOGGER)
        self._logger_state = (logger.level, logger.propagate)
        logger.setLevel(logging.INFO)
        logger.addHandler(self)
        logger.propagate = False

    def uninstall(self):
        logger = logging.getLogger(_SQL_LOGGER)
        logger.removeHandler(self)
        logger.level, logger.propagate = self._logger_state


_SQL_LOGGER = "sqlalchemy.engine"


class ResultMixin:
    """Formatting shared by the local and the worker results."""

    sql_capture = None

    def _exc_info_to_string(self, err, test):
        value = err[1]
        if isinstance(value, RemoteError):
            return value.text
        if isinstance(value, DBTestCaseError):
            text = "%s: %s\n" % (type(value).__name__, value)
            if getattr(self, "buffer", False):
                # Keep the captured output that the parent method would add.
                full = super()._exc_info_to_string(err, test)
                marker = "\nStdout:\n" if "\nStdout:\n" in full else "\nStderr:\n"
                if marker in full:
                    text += full[full.index(marker):]
        else:
            text = super()._exc_info_to_string(err, test)
        if self.sql_capture is not None and self.sql_capture.buffer:
            text += "\nSQL executed during the test:\n" + "\n".join(self.sql_capture.buffer) + "\n"
        return text

    def _start_sql(self):
        if self.sql_capture is not None:
            self.sql_capture.buffer = []

    def _stop_sql(self):
        if self.sql_capture is not None:
            self.sql_capture.buffer = None


class DBTestResult(ResultMixin, unittest.TextTestResult):
    """unittest's text result, plus per-test timing, per-test outcomes (for
    the summary line and the JUnit report) and ``--durations``."""

    def __init__(self, stream, descriptions, verbosity, **kwargs):
        kwargs.pop("durations", None)  # Python 3.12 passes it; we do our own
        super().__init__(stream, descriptions, verbosity, **kwargs)
        self.verbosity = verbosity
        self.durations = None  # number of slowest tests to print, 0 = all
        self.test_durations = []  # (test, seconds)
        self.records = OrderedDict()  # test id -> record dict
        self._started = {}
        self._remote_elapsed = {}
        self.start_time = time.perf_counter()
        self.stop_time = None

    # -- bookkeeping -------------------------------------------------------
    def _record(self, test):
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
            record = {"classname": classname, "name": name, "time": 0.0,
                      "outcome": "passed", "details": []}
            self.records[key] = record
        return record

    def _mark(self, test, outcome, kind=None, err=None, text=None, message=None):
        record = self._record(test)
        rank = {"passed": 0, "skipped": 1, "failed": 2}
        if rank[outcome] >= rank[record["outcome"]]:
            record["outcome"] = outcome
        if kind is not None:
            if err is not None:
                message = exception_message(err)
                exc_type = exception_type(err)
            else:
                exc_type = None
            record["details"].append({"kind": kind, "message": message or "",
                                      "type": exc_type, "text": text or ""})

    def set_remote_elapsed(self, test, seconds):
        self._remote_elapsed[test] = seconds

    # -- unittest hooks ----------------------------------------------------
    def startTestRun(self):
        self.start_time = time.perf_counter()
        super().startTestRun()

    def stopTestRun(self):
        self.stop_time = time.perf_counter()
        super().stopTestRun()

    def startTest(self, test):
        self._started[test] = time.perf_counter()
        self._record(test)
        self._start_sql()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        self._stop_sql()
        started = self._started.pop(test, None)
        elapsed = self._remote_elapsed.pop(test, None)
        if elapsed is None:
            elapsed = time.perf_counter() - started if started is not None else 0.0
        self.test_durations.append((test, elapsed))
        self._record(test)["time"] = elapsed

    def addSuccess(self, test):
        super().addSuccess(test)
        self._mark(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._mark(test, "failed", "failure", err, self.failures[-1][1])

    def addError(self, test, err):
        super().addError(test, err)
        self._mark(test, "failed", "error", err, self.errors[-1][1])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._mark(test, "skipped", "skipped", text="", message=reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._mark(test, "passed")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._mark(test, "failed", "failure", text="", message="Unexpected success")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            is_failure = issubclass(err[0], test.failureException)
            entries = self.failures if is_failure else self.errors
            text = "%s\n%s" % (subtest, entries[-1][1])
            self._mark(test, "failed", "failure" if is_failure else "error", err, text)

    # -- counts --------------------------------------------------------------
    def counts(self):
        """(passed, failed, skipped) as the summary line reports them."""
        failed = len(self.failures) + len(self.errors) + len(self.unexpectedSuccesses)
        outcomes = [r["outcome"] for key, r in self.records.items()]
        passed = sum(1 for o in outcomes if o == "passed")
        skipped = sum(1 for o in outcomes if o == "skipped")
        # Holders (setUpClass errors) are records too but never "passed".
        return passed, failed, skipped

    # -- output --------------------------------------------------------------
    def printErrors(self):
        super().printErrors()
        if self.durations is not None:
            self.print_durations()

    def print_durations(self):
        # The format of Python 3.12's ``unittest --durations``.
        if not self.test_durations:
            return
        slowest = sorted(self.test_durations, key=lambda item: item[1], reverse=True)
        if self.durations > 0:
            slowest = slowest[:self.durations]
        self.stream.writeln("Slowest test durations")
        self.stream.writeln(self.separator2)
        hidden = False
        for test, elapsed in slowest:
            if self.verbosity < 2 and elapsed < 0.001:
                hidden = True
                continue
            self.stream.writeln("%-10s %s" % ("%.3fs" % elapsed, test))
        if hidden:
            self.stream.writeln("\n(durations < 0.001s were hidden; use -v to show these durations)")
        else:
            self.stream.writeln("")
        self.stream.flush()

    def write_junit_xml(self, path, suite_name="flask_dbtestcase"):
        """Write a JUnit XML report of this result to ``path``."""
        records = list(self.records.values())
        n_fail = sum(1 for r in records if any(d["kind"] == "failure" for d in r["details"])
                     and not any(d["kind"] == "error" for d in r["details"]))
        n_err = sum(1 for r in records if any(d["kind"] == "error" for d in r["details"]))
        n_skip = sum(1 for r in records if r["outcome"] == "skipped")
        stop = self.stop_time if self.stop_time is not None else time.perf_counter()
        total = "%.3f" % max(0.0, stop - self.start_time)
        attrs = {"name": suite_name, "tests": str(len(records)), "failures": str(n_fail),
                 "errors": str(n_err), "skipped": str(n_skip), "time": total}
        root = ET.Element("testsuites", attrs)
        suite = ET.SubElement(root, "testsuite", dict(attrs, timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"),
                                                      hostname=os.uname().nodename if hasattr(os, "uname") else ""))
        for record in records:
            case = ET.SubElement(suite, "testcase", {"classname": record["classname"],
                                                     "name": record["name"],
                                                     "time": "%.3f" % record["time"]})
            for detail in record["details"]:
                attrs = {"message": detail["message"]}
                if detail["type"]:
                    attrs["type"] = detail["type"]
                child = ET.SubElement(case, detail["kind"], attrs)
                if detail["text"]:
                    child.text = detail["text"]
        if hasattr(ET, "indent"):  # Python 3.9+
            ET.indent(root)
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


class DBTextTestRunner(unittest.TextTestRunner):
    """TextTestRunner that configures the result and reports it back."""

    def __init__(self, *args, on_result=None, durations=None, sql_capture=None, **kwargs):
        kwargs.setdefault("resultclass", DBTestResult)
        super().__init__(*args, **kwargs)
        self._on_result = on_result
        self._durations = durations
        self._sql_capture = sql_capture

    def _makeResult(self):
        result = self.resultclass(self.stream, self.descriptions, self.verbosity)
        result.durations = self._durations
        result.sql_capture = self._sql_capture
        if self._on_result is not None:
            self._on_result(result)
        return result
