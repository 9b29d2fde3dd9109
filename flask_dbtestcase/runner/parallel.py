"""``--parallel``: the test classes spread over forked worker processes,
each on its own clone of the test database; every worker records what
happened as picklable events and the parent replays them into its result.
"""

from __future__ import annotations

import signal
import time
import traceback
import unittest

from ..settings import export_database_url
from ..state import STATE, RunDatabases
from .results import RemoteError, ResultMixin, exception_message, exception_type

__all__ = ["ParallelTestSuite", "RemoteTestResult"]


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


class _RemoteSubTest(_Holder):
    """Stands for a worker's subtest: its description and id."""

    def __init__(self, test, description, sub_id):
        super().__init__(description)
        self.test_case = test
        self.failureException = test.failureException
        self._id = sub_id

    def id(self):
        return self._id


class RemoteTestResult(ResultMixin, unittest.TestResult):
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
        return (text, exception_message(err), exception_type(err), is_failure)

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


def _init_worker(counter, databases: RunDatabases):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with counter.get_lock():
        counter.value += 1
        worker_id = counter.value
    STATE.databases = databases.for_worker(worker_id)
    export_database_url(STATE.databases.url)


def _run_subsuite(index):
    suite = STATE.parallel
    tests = suite.subsuites[index]
    config = suite.config
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


class ParallelTestSuite(unittest.TestSuite):
    """Runs groups of tests (one class each) in ``processes`` forked workers.

    ``databases`` are the run's (worker N gets its N-th clone). Its
    ``run(result)`` replays every worker's events into ``result``, so a
    ``TextTestRunner`` prints and times it like any suite.
    """

    def __init__(self, subsuites, processes, databases: RunDatabases, failfast=False, buffer=False,
                 sql_capture=None):
        super().__init__([test for group in subsuites for test in group])
        self.subsuites = subsuites
        self.processes = processes
        self.databases = databases
        self.config = {"failfast": failfast, "buffer": buffer, "sql_capture": sql_capture}

    def run(self, result, debug=False):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        STATE.parallel = self
        context = multiprocessing.get_context("fork")
        counter = context.Value("i", 0)
        # Unlike multiprocessing.Pool, the executor notices a worker that dies
        # (a crash, a kill, os._exit in a test) instead of waiting forever.
        executor = ProcessPoolExecutor(self.processes, mp_context=context, initializer=_init_worker,
                                       initargs=(counter, self.databases))
        pending = {executor.submit(_run_subsuite, i): i for i in range(len(self.subsuites))}
        try:
            for future in as_completed(pending):
                try:
                    index, events = future.result()
                except BrokenProcessPool:
                    self._report_lost(result, sorted(i for f, i in pending.items() if not f.done()
                                                     or f.exception() is not None))
                    break
                del pending[future]
                _replay(result, self.subsuites[index], events)
                if result.shouldStop:
                    break
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
            STATE.parallel = None
        return result

    def _report_lost(self, result, indexes):
        """A worker died: the classes that had not reported are errors, not silence."""
        for index in indexes:
            tests = self.subsuites[index]
            if not tests:
                continue
            first = tests[0]
            holder = _Holder(f"{type(first).__module__}.{type(first).__qualname__} (worker process)")
            message = (f"A worker process died while running or before running these "
                       f"{len(tests)} test(s) of {type(first).__qualname__} (killed, crashed, or "
                       "a test called os._exit()); their results are lost.")
            result.addError(holder, (RemoteError, RemoteError(message, message, "WorkerDied"), None))
