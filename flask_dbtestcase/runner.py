"""The test runner: one test database for the whole run, Django's way.

``DBTestRunner`` is shaped like Django's ``DiscoverRunner``: every command
line option is an ``__init__`` argument, ``add_arguments(parser)`` declares
them, and ``run_tests(labels)`` runs the steps a subclass can override::

    setup_test_environment() -> build_suite(labels) -> setup_databases()
    -> run_suite(suite) -> teardown_databases(state)  (always, in finally)
    -> teardown_test_environment() -> suite_result(suite, result)

The database reaches the test classes through the environment variable
``FLASK_DBTESTCASE_DATABASE_URL``. This module imports only the standard
library at import time, so ``python -m flask_dbtestcase --help`` stays fast;
the database helpers are imported when the databases are set up.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import logging
import os
import random
import signal
import sys
import time
import traceback
import unittest
import xml.etree.ElementTree as ET
from collections import OrderedDict

from .errors import ConfigurationError, DBTestCaseError

__all__ = ["DBTestRunner", "DBTestResult", "Shuffler", "main"]

#: The variable through which the runner hands the test database to the tests.
DATABASE_URL_ENV = "FLASK_DBTESTCASE_DATABASE_URL"
#: Where ``--database-url`` is read from when it is not given.
TEST_DATABASE_URL_ENV = "TEST_DATABASE_URL"
#: The database created on the throwaway server.
THROWAWAY_DATABASE = "test_db"

_MISSING = object()


# ---------------------------------------------------------------------------
# Suite helpers
# ---------------------------------------------------------------------------

def iter_test_cases(tests):
    """Yield every TestCase of a (possibly nested) suite, in order."""
    for test in tests:
        if isinstance(test, unittest.TestCase):
            yield test
        elif isinstance(test, str):  # pragma: no cover - defensive
            raise TypeError("Test %r must be a TestCase or a TestSuite, not a string." % test)
        else:
            yield from iter_test_cases(test)


def _class_key(test):
    cls = type(test)
    return "%s.%s" % (cls.__module__, cls.__qualname__)


def _is_subclass_named(test, name):
    """True when a class called ``name`` from this package is in the MRO.

    Checked by name so that building a suite does not import testcase.py.
    """
    for klass in type(test).__mro__:
        if klass.__name__ == name and klass.__module__.split(".")[0] == "flask_dbtestcase":
            return True
    return False


class Shuffler:
    """Django's shuffler: a seeded, reproducible order that does not depend
    on the order the tests were found in."""

    hash_algorithm = "md5"

    def __init__(self, seed=None):
        if seed is None:
            seed = random.randint(0, 10**10 - 1)
            self.seed_source = "generated"
        else:
            self.seed_source = "given"
        self.seed = seed

    @property
    def seed_display(self):
        return "%s (%s)" % (self.seed, self.seed_source)

    def _hash_text(self, text):
        try:
            h = hashlib.new(self.hash_algorithm, usedforsecurity=False)
        except TypeError:  # pragma: no cover - Python < 3.9
            h = hashlib.new(self.hash_algorithm)
        h.update(text.encode("utf-8"))
        return h.hexdigest()

    def shuffle(self, items, key):
        hashed = {}
        for item in items:
            digest = self._hash_text("%s%s" % (self.seed, key(item)))
            if digest in hashed:  # pragma: no cover - equal keys
                raise RuntimeError("item %r has the same hash as %r" % (item, hashed[digest]))
            hashed[digest] = item
        return [hashed[digest] for digest in sorted(hashed)]


def shuffle_tests(tests, shuffler):
    """Shuffle modules, classes within modules, tests within classes: tests
    of one class stay together so class fixtures run once."""
    by_module = OrderedDict()
    for test in tests:
        cls = type(test)
        by_module.setdefault(cls.__module__, OrderedDict()).setdefault(cls.__qualname__, []).append(test)
    for module in shuffler.shuffle(by_module, key=lambda m: m):
        classes = by_module[module]
        for cls_name in shuffler.shuffle(classes, key=lambda c: c):
            yield from shuffler.shuffle(classes[cls_name], key=lambda t: t.id())


def reorder_tests(tests, class_names, reverse=False, shuffler=None):
    """Group tests Django's way: bins in ``class_names`` order, then the rest;
    within a bin, tests of one class together; duplicates dropped."""
    if shuffler is not None:
        tests = shuffle_tests(tests, shuffler)
    bins = [OrderedDict() for _ in range(len(class_names) + 1)]
    seen = set()
    for test in tests:
        marker = (type(test), test.id())
        if marker in seen:
            continue
        seen.add(marker)
        for test_bin, name in zip(bins, class_names):
            if _is_subclass_named(test, name):
                break
        else:
            test_bin = bins[-1]
        test_bin.setdefault(type(test), []).append(test)
    for test_bin in bins:
        groups = list(test_bin.values())
        if reverse:
            groups.reverse()
        for group in groups:
            yield from (reversed(group) if reverse else group)


def partition_by_class(tests):
    """Split an ordered list of tests into runs of one class each."""
    groups = []
    for test in tests:
        if groups and type(groups[-1][-1]) is type(test):
            groups[-1].append(test)
        else:
            groups.append([test])
    return groups


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


def _url_to_string(url):
    if isinstance(url, str):
        return url
    render = getattr(url, "render_as_string", None)
    return render(hide_password=False) if render else str(url)


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

class RemoteError(Exception):
    """An error already formatted elsewhere (a parallel worker)."""

    def __init__(self, text, message, exc_type):
        super().__init__(message)
        self.text = text
        self.message = message
        self.exc_type = exc_type


class _Holder:
    """Stands for a non-test (e.g. ``setUpClass (module.Class)``) in a result."""

    failureException = None

    def __init__(self, description):
        self.description = description

    def id(self):
        return self.description

    def shortDescription(self):
        return None

    def __str__(self):
        return self.description

    def countTestCases(self):
        return 0


class _RemoteSubTest:
    def __init__(self, test, description, sub_id):
        self.test_case = test
        self.failureException = test.failureException
        self._description = description
        self._id = sub_id

    def id(self):
        return self._id

    def shortDescription(self):
        return None

    def __str__(self):
        return self._description


def _exception_message(err):
    """'ExcType: first line of the message', for JUnit's message attribute."""
    exc_type, value = err[0], err[1]
    if isinstance(value, RemoteError):
        return value.message
    text = str(value).strip()
    name = getattr(exc_type, "__name__", str(exc_type))
    return "%s: %s" % (name, text) if text else name


def _exception_type(err):
    if isinstance(err[1], RemoteError):
        return err[1].exc_type
    exc_type = err[0]
    return "%s.%s" % (exc_type.__module__, exc_type.__qualname__) if exc_type.__module__ != "builtins" \
        else exc_type.__qualname__


class _SQLCapture(logging.Handler):
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


_SQL_LOGGER = "sqlalchemy.engine"


class _ResultMixin:
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


class DBTestResult(_ResultMixin, unittest.TextTestResult):
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
                classname = _class_key(test)
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
                message = _exception_message(err)
                exc_type = _exception_type(err)
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


# ---------------------------------------------------------------------------
# Parallel workers
# ---------------------------------------------------------------------------

_SUBSUITES = []  # set in the parent before forking; read by the workers
_WORKER = {}


class RemoteTestResult(_ResultMixin, unittest.TestResult):
    """Records what happened in a worker as picklable events."""

    def __init__(self, index_of, failfast=False, buffer=False, sql_capture=None):
        super().__init__()
        self.failfast = failfast
        self.buffer = buffer
        self.sql_capture = sql_capture
        self.index_of = index_of
        self.events = []
        self._started = {}

    def _ref(self, test):
        index = self.index_of.get(id(test))
        return ("test", index) if index is not None else ("holder", str(test))

    def _err(self, err, test):
        text = self._exc_info_to_string(err, test)
        is_failure = isinstance(test, unittest.TestCase) and issubclass(err[0], test.failureException)
        return (text, _exception_message(err), _exception_type(err), is_failure)

    def startTest(self, test):
        super().startTest(test)
        self._started[id(test)] = time.perf_counter()
        self._start_sql()
        self.events.append(("startTest", self._ref(test)))

    def stopTest(self, test):
        super().stopTest(test)
        self._stop_sql()
        started = self._started.pop(id(test), None)
        elapsed = time.perf_counter() - started if started is not None else 0.0
        self.events.append(("stopTest", self._ref(test), elapsed))

    def addSuccess(self, test):
        super().addSuccess(test)
        self.events.append(("addSuccess", self._ref(test)))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.events.append(("addFailure", self._ref(test), self._err(err, test)))

    def addError(self, test, err):
        super().addError(test, err)
        self.events.append(("addError", self._ref(test), self._err(err, test)))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.events.append(("addSkip", self._ref(test), reason))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.events.append(("addExpectedFailure", self._ref(test), self._err(err, test)))

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.events.append(("addUnexpectedSuccess", self._ref(test)))

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            error = self._err(err, test)
            error = (error[0], error[1], error[2], issubclass(err[0], test.failureException))
            self.events.append(("addSubTest", self._ref(test), str(subtest), subtest.id(), error))


def _init_worker(counter, urls, config):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with counter.get_lock():
        counter.value += 1
        worker_id = counter.value
    _WORKER["id"] = worker_id
    _WORKER["config"] = config
    os.environ[DATABASE_URL_ENV] = urls[(worker_id - 1) % len(urls)]
    os.environ["FLASK_DBTESTCASE_WORKER_ID"] = str(worker_id)


def _run_subsuite(index):
    tests = _SUBSUITES[index]
    config = _WORKER.get("config", {})
    index_of = {id(test): i for i, test in enumerate(tests)}
    result = RemoteTestResult(index_of, failfast=config.get("failfast", False),
                              buffer=config.get("buffer", False),
                              sql_capture=config.get("sql_capture"))
    try:
        unittest.TestSuite(tests).run(result)
    except BaseException:  # pragma: no cover - a test that kills its worker's loop
        result.events.append(("addError", ("holder", "worker (subsuite %d)" % index),
                              (traceback.format_exc(), "worker crashed", "builtins.Exception", False)))
    return index, result.events


def _replay(result, tests, events):
    """Feed a worker's events into the parent's result."""

    def resolve(ref):
        kind, value = ref
        return tests[value] if kind == "test" else _Holder(value)

    def error(test, data, failure):
        text, message, exc_type, _ = data
        cls = test.failureException if failure and getattr(test, "failureException", None) else RemoteError
        return (cls, RemoteError(text, message, exc_type), None)

    for event in events:
        name, ref = event[0], event[1]
        test = resolve(ref)
        if name == "startTest":
            result.startTest(test)
        elif name == "stopTest":
            if hasattr(result, "set_remote_elapsed"):
                result.set_remote_elapsed(test, event[2])
            result.stopTest(test)
        elif name in ("addSuccess", "addUnexpectedSuccess"):
            getattr(result, name)(test)
        elif name == "addSkip":
            result.addSkip(test, event[2])
        elif name in ("addFailure", "addError", "addExpectedFailure"):
            data = event[2]
            result_method = getattr(result, name)
            result_method(test, error(test, data, name == "addFailure" or data[3]))
        elif name == "addSubTest":
            description, sub_id, data = event[2], event[3], event[4]
            result.addSubTest(test, _RemoteSubTest(test, description, sub_id), error(test, data, data[3]))


# ---------------------------------------------------------------------------
# Database state
# ---------------------------------------------------------------------------

class DatabaseState:
    """What ``setup_databases`` did, so ``teardown_databases`` can undo it."""

    def __init__(self):
        self.mode = None  # "given" | "server" | "throwaway" | None (no tests)
        self.url = None  # the test database URL (string, with password)
        self.display_url = None
        self.server = None
        self.created = False  # we created the test database (drop it unless keepdb)
        self.clones = []  # URL strings of the per-worker clones
        self.previous_env = _MISSING
        self.restore_env = True


# ---------------------------------------------------------------------------
# The runner
# ---------------------------------------------------------------------------

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
                 durations=None, database_url=None, junit_xml=None, stream=None, **kwargs):
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
        self.stream = stream if stream is not None else sys.stderr
        self.result = None
        self._shuffler = None if shuffle is False else Shuffler(shuffle)
        self._subsuites = None
        self._test_count = None
        self._worker_urls = []
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
                            help="Preserve the test database between runs (reuse it if it exists).")
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
            self._sql_capture = _SQLCapture()
            logger = logging.getLogger(_SQL_LOGGER)
            self._sql_logger_state = (logger.level, logger.propagate)
            logger.setLevel(logging.INFO)
            logger.addHandler(self._sql_capture)
            logger.propagate = False
        if hasattr(signal, "SIGTERM"):
            try:
                self._previous_sigterm = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
            except ValueError:  # not the main thread
                self._previous_sigterm = None
        # Ctrl-C/SIGTERM must also stop a test blocked in a query or lock wait.
        from ._interrupt import QueryCanceller
        self._canceller = QueryCanceller()
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
            logger = logging.getLogger(_SQL_LOGGER)
            logger.removeHandler(self._sql_capture)
            logger.level, logger.propagate = self._sql_logger_state
            self._sql_capture = None

    # -- suite ---------------------------------------------------------------
    def make_loader(self):
        loader = self.test_loader_class()
        if self.test_name_patterns:
            loader.testNamePatterns = list(self.test_name_patterns)
        return loader

    def _top_level_for(self, directory):
        """Django's rule: walk up while the directory is a package."""
        if self.top_level:
            return self.top_level
        top = os.path.abspath(directory)
        while os.path.exists(os.path.join(top, "__init__.py")):
            parent = os.path.dirname(top)
            if parent == top:
                break
            top = parent
        return top

    def _discover(self, directory):
        return self.make_loader().discover(start_dir=directory, pattern=self.pattern,
                                           top_level_dir=self._top_level_for(directory))

    def _module_name_for_path(self, path):
        top = os.path.abspath(self.top_level or os.getcwd())
        rel = os.path.relpath(os.path.abspath(path), top)
        if rel.startswith(os.pardir):
            raise ConfigurationError(
                "The test file %s is outside %s; run from a directory above it or pass "
                "-t/--top-level-directory." % (path, top))
        return rel[:-3].replace("\\", ".").replace("/", ".")

    def load_tests_for_label(self, label):
        """Load the tests one label names: a directory, a .py file, a dotted
        package (discovered), or a dotted module/class/method name."""
        if os.path.isdir(label):
            return self._discover(label)
        if os.path.isfile(label) and label.endswith(".py"):
            return self.make_loader().loadTestsFromName(self._module_name_for_path(label))
        if os.sep in label or label.endswith(".py"):
            raise ConfigurationError(
                "The test label %r is neither a directory, a Python file nor a dotted "
                "module name. Check the path." % label)
        try:
            spec = importlib.util.find_spec(label)
        except Exception:
            spec = None
        if spec is not None and spec.submodule_search_locations:
            directory = list(spec.submodule_search_locations)[0]
            return self._discover(directory)
        return self.make_loader().loadTestsFromName(label)

    def build_suite(self, test_labels=None, **kwargs):
        labels = list(test_labels or []) or [self.top_level or "."]
        tests = []
        for label in labels:
            tests.extend(iter_test_cases(self.load_tests_for_label(label)))
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
        state.previous_env = os.environ.get(DATABASE_URL_ENV, _MISSING)
        if self._test_count == 0:
            self.log("No tests: skipping the test database.", 2)
            state.restore_env = False
            return state
        started = time.perf_counter()
        try:
            self._setup_main_database(state)
            os.environ[DATABASE_URL_ENV] = state.url
            if self.parallel > 1:
                self._setup_clones(state)
            self._worker_urls = list(state.clones)
        except BaseException:
            self._teardown_databases(state, quiet=True)
            raise
        self.log("Database setup took %.3fs." % (time.perf_counter() - started), 2)
        return state

    def _setup_main_database(self, state):
        if state.previous_env is not _MISSING:
            state.mode = "given"
            state.url = state.previous_env
            self.log("Using the test database from $%s." % DATABASE_URL_ENV, 2)
            return
        from . import database
        url = self.database_url or os.environ.get(TEST_DATABASE_URL_ENV)
        if url:
            base = database.make_url(url)
            name = database.test_database_name(base.database or "postgres")
            test_url = base.set(database=name)
            self.log("Creating test database %s ..." % database.render_url(test_url), 2)
            state.mode = "server"
            created = database.create_test_database(
                test_url, keepdb=self.keepdb, interactive=self.interactive,
                autoclobber=not self.interactive)
            state.created = True
            test_url = created if created is not None else test_url
        else:
            from .server import ThrowawayServer
            self.log("Starting a throwaway PostgreSQL server ...", 2)
            state.mode = "throwaway"
            server_started = time.perf_counter()
            state.server = ThrowawayServer.start()
            server = state.server
            self.log("Throwaway server started in %.3fs." % (time.perf_counter() - server_started), 2)
            test_url = database.make_url(server.url(THROWAWAY_DATABASE))
            created = database.create_test_database(test_url, keepdb=False, interactive=False,
                                                    autoclobber=True)
            state.created = True
            test_url = created if created is not None else test_url
        state.url = _url_to_string(test_url)
        state.display_url = database.render_url(test_url)
        self.log("Test database: %s" % state.display_url, 2)

    def _setup_clones(self, state):
        from . import database
        for number in range(1, self.parallel + 1):
            self.log("Cloning test database for worker %d ..." % number, 2)
            clone = database.clone_test_database(database.make_url(state.url), str(number))
            state.clones.append(_url_to_string(clone))

    def teardown_databases(self, old_config, **kwargs):
        """Destroy what ``setup_databases`` created (unless --keepdb)."""
        self._teardown_databases(old_config)

    def _teardown_databases(self, state, quiet=False):
        # A second Ctrl-C must not abandon the clean-up half way.
        try:
            previous_sigint = signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:  # pragma: no cover - not the main thread
            previous_sigint = None
        errors = []

        def attempt(what, func, *args):
            try:
                func(*args)
            except Exception as exc:  # keep cleaning up; the first error is raised at the end
                if errors and not quiet:
                    self.stream.write("warning: could not %s: %s\n" % (what, exc))
                errors.append(exc)

        try:
            database = None
            if state.mode is not None:
                try:
                    from . import database
                except Exception as exc:  # pragma: no cover
                    errors.append(exc)
            if database is not None and not self.keepdb:
                attempt("drop the databases created for binds", database.destroy_created_databases)
                for clone in state.clones:
                    attempt("drop the worker database %s" % clone.rsplit("/", 1)[-1],
                            database.destroy_test_database, database.make_url(clone))
                if state.mode in ("server", "throwaway") and state.created and state.server is None:
                    self.log("Destroying test database %s ..." % (state.display_url or ""), 2)
                    attempt("drop the test database", database.destroy_test_database,
                            database.make_url(state.url))
            if state.server is not None:
                attempt("stop the throwaway server", state.server.stop)
                state.server = None
        finally:
            if not state.restore_env:
                pass
            elif state.previous_env is _MISSING:
                os.environ.pop(DATABASE_URL_ENV, None)
            else:
                os.environ[DATABASE_URL_ENV] = state.previous_env
            if previous_sigint is not None:
                signal.signal(signal.SIGINT, previous_sigint)
        if errors and not quiet:
            raise errors[0]

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
        if self.parallel > 1 and self._subsuites:
            return self._run_parallel(suite)
        runner = self.test_runner(**self.get_test_runner_kwargs())
        return runner.run(suite)

    def _run_parallel(self, suite):
        """Run the class groups in worker processes; replay their results here."""
        import multiprocessing

        runner = self.test_runner(**self.get_test_runner_kwargs())
        state_urls = list(self._worker_urls) or [os.environ[DATABASE_URL_ENV]]
        global _SUBSUITES
        _SUBSUITES = self._subsuites
        context = multiprocessing.get_context("fork")
        counter = context.Value("i", 0)
        config = {"failfast": self.failfast, "buffer": self.buffer, "sql_capture": self._sql_capture}
        self.log("Running %d test classes in %d processes." % (len(self._subsuites), self.parallel), 2)
        result = runner._makeResult()
        unittest.registerResult(result)
        result.failfast = self.failfast
        start = time.perf_counter()
        startTestRun = getattr(result, "startTestRun", None)
        if startTestRun is not None:
            startTestRun()
        pool = context.Pool(self.parallel, initializer=_init_worker,
                            initargs=(counter, state_urls, config))
        try:
            for index, events in pool.imap_unordered(_run_subsuite, range(len(self._subsuites))):
                _replay(result, self._subsuites[index], events)
                if result.shouldStop:
                    break
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            if result.shouldStop:
                pool.terminate()
            pool.join()
            _SUBSUITES = []
            stopTestRun = getattr(result, "stopTestRun", None)
            if stopTestRun is not None:
                stopTestRun()
        self._print_result(runner, result, time.perf_counter() - start)
        return result

    def _print_result(self, runner, result, time_taken):
        # What TextTestRunner.run prints after the run.
        stream = runner.stream
        result.printErrors()
        if hasattr(result, "separator2"):
            stream.writeln(result.separator2)
        run = result.testsRun
        stream.writeln("Ran %d test%s in %.3fs" % (run, run != 1 and "s" or "", time_taken))
        stream.writeln()
        expected_fails = len(result.expectedFailures)
        unexpected = len(result.unexpectedSuccesses)
        skipped = len(result.skipped)
        infos = []
        if not result.wasSuccessful():
            stream.write("FAILED")
            failed, errored = len(result.failures), len(result.errors)
            if failed:
                infos.append("failures=%d" % failed)
            if errored:
                infos.append("errors=%d" % errored)
        else:
            stream.write("OK")
        if skipped:
            infos.append("skipped=%d" % skipped)
        if expected_fails:
            infos.append("expected failures=%d" % expected_fails)
        if unexpected:
            infos.append("unexpected successes=%d" % unexpected)
        if infos:
            stream.writeln(" (%s)" % (", ".join(infos),))
        else:
            stream.write("\n")
        stream.flush()

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
    return options.runner or os.environ.get("FLASK_DBTESTCASE_RUNNER")


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
                        help="Use this DBTestRunner subclass (also $FLASK_DBTESTCASE_RUNNER).")
    runner_class.add_arguments(parser)
    return parser


def main(argv=None, prog=None):
    """Entry point of ``python -m flask_dbtestcase`` and ``flask test``.

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
