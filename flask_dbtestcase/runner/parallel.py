"""``--parallel``: the test classes spread over forked worker processes,
each on its own clone of the test database; every worker records what
happened as picklable events and the parent replays them into its result.
"""

from __future__ import annotations

import signal
import time
import traceback
import typing as t
import unittest

from ..settings import export_database_url
from ..state import STATE, RunDatabases
from .outcomes import (
    OptExcInfo,
    RemoteError,
    ResultMixin,
    exception_class,
    exception_message,
    exception_type,
)
from .sqlcapture import SQLCapture

if t.TYPE_CHECKING:
    from multiprocessing.sharedctypes import Synchronized

__all__ = ["Event", "ParallelTestSuite", "RemoteTestResult"]

#: What a worker's result records, replayed by the parent: the name of the
#: result method, a reference to the test, then that method's arguments.
Event = tuple[t.Any, ...]
#: An error as a worker sends it: text, message, exception type, is a failure.
_RemoteErr = tuple[str, str, str, bool]


class _Holder:
    """Stands for a non-test (e.g. ``setUpClass (module.Class)``) in a result."""

    failureException: type[BaseException] | None = None

    def __init__(self, description: str) -> None:
        self.description = description

    def id(self) -> str:
        return self.description

    def shortDescription(self) -> None:
        return None

    def __str__(self) -> str:
        return self.description

    def countTestCases(self) -> int:
        return 0


class _RemoteSubTest(_Holder):
    """Stands for a worker's subtest: its description and id."""

    def __init__(self, test: unittest.TestCase, description: str, sub_id: str) -> None:
        super().__init__(description)
        self.test_case = test
        self.failureException = test.failureException
        self._id = sub_id

    def id(self) -> str:
        return self._id


def _as_test(holder: _Holder) -> unittest.TestCase:
    """A holder where a result expects a test, as unittest passes its own holders."""
    return t.cast(unittest.TestCase, holder)


def _remote_exc_info(cls: type[BaseException], error: RemoteError) -> OptExcInfo:
    """The exc_info of an error raised in a worker: there is no traceback here."""
    return t.cast("OptExcInfo", (cls, error, None))


class RemoteTestResult(ResultMixin, unittest.TestResult):
    """Record what happens in a worker as picklable events.

    :param index_of: the position in the worker's group of each test, by ``id()``.
    :param failfast: stop at the first failure or error.
    :param buffer: capture the tests' output (``-b``).
    :param sql_capture: the ``--debug-sql`` capture.
    """

    def __init__(
        self,
        index_of: dict[int, int],
        failfast: bool = False,
        buffer: bool = False,
        sql_capture: SQLCapture | None = None,
    ) -> None:
        super().__init__()
        self.failfast = failfast
        self.buffer = buffer
        self.sql_capture = sql_capture
        self.index_of = index_of
        self.events: list[Event] = []
        self._started: dict[int, float] = {}

    def _ref(self, test: unittest.TestCase) -> tuple[str, int | str]:
        index = self.index_of.get(id(test))
        return ("test", index) if index is not None else ("holder", str(test))

    def _err(self, err: OptExcInfo, test: unittest.TestCase) -> _RemoteErr:
        text = self._exc_info_to_string(err, test)
        is_failure = isinstance(test, unittest.TestCase) and issubclass(
            exception_class(err), test.failureException
        )
        return (text, exception_message(err), exception_type(err), is_failure)

    def startTest(self, test: unittest.TestCase) -> None:
        super().startTest(test)
        self._started[id(test)] = time.perf_counter()
        self._start_sql()
        self.events.append(("startTest", self._ref(test)))

    def stopTest(self, test: unittest.TestCase) -> None:
        super().stopTest(test)
        self._stop_sql()
        started = self._started.pop(id(test), None)
        elapsed = time.perf_counter() - started if started is not None else 0.0
        self.events.append(("stopTest", self._ref(test), elapsed))

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self.events.append(("addSuccess", self._ref(test)))

    def addFailure(self, test: unittest.TestCase, err: OptExcInfo) -> None:
        super().addFailure(test, err)
        self.events.append(("addFailure", self._ref(test), self._err(err, test)))

    def addError(self, test: unittest.TestCase, err: OptExcInfo) -> None:
        super().addError(test, err)
        self.events.append(("addError", self._ref(test), self._err(err, test)))

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        super().addSkip(test, reason)
        self.events.append(("addSkip", self._ref(test), reason))

    def addExpectedFailure(self, test: unittest.TestCase, err: OptExcInfo) -> None:
        super().addExpectedFailure(test, err)
        self.events.append(("addExpectedFailure", self._ref(test), self._err(err, test)))

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:
        super().addUnexpectedSuccess(test)
        self.events.append(("addUnexpectedSuccess", self._ref(test)))

    def addSubTest(
        self, test: unittest.TestCase, subtest: unittest.TestCase, err: OptExcInfo | None
    ) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            error = self._err(err, test)
            error = (
                error[0],
                error[1],
                error[2],
                issubclass(exception_class(err), test.failureException),
            )
            self.events.append(("addSubTest", self._ref(test), str(subtest), subtest.id(), error))


def _init_worker(counter: Synchronized[int], databases: RunDatabases) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with counter.get_lock():
        counter.value += 1
        worker_id = counter.value
    STATE.databases = databases.for_worker(worker_id)
    export_database_url(STATE.databases.url)


def _run_subsuite(index: int) -> tuple[int, list[Event]]:
    suite: ParallelTestSuite = STATE.parallel
    tests = suite.subsuites[index]
    config = suite.config
    index_of = {id(test): i for i, test in enumerate(tests)}
    result = RemoteTestResult(
        index_of,
        failfast=config.get("failfast", False),
        buffer=config.get("buffer", False),
        sql_capture=config.get("sql_capture"),
    )
    try:
        unittest.TestSuite(tests).run(result)
    except BaseException:  # pragma: no cover - a test that kills its worker's loop
        result.events.append(
            (
                "addError",
                ("holder", f"worker (subsuite {index})"),
                (traceback.format_exc(), "worker crashed", "builtins.Exception", False),
            )
        )
    return index, result.events


def _replay(
    result: unittest.TestResult, tests: t.Sequence[unittest.TestCase], events: t.Iterable[Event]
) -> None:
    """Feed a worker's events into the parent's result."""

    def resolve(ref: tuple[str, t.Any]) -> unittest.TestCase:
        kind, value = ref
        return tests[value] if kind == "test" else _as_test(_Holder(value))

    def error(test: unittest.TestCase, data: _RemoteErr, failure: bool) -> OptExcInfo:
        text, message, exc_type, _ = data
        cls = (
            test.failureException
            if failure and getattr(test, "failureException", None)
            else RemoteError
        )
        return _remote_exc_info(cls, RemoteError(text, message, exc_type))

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
            result.addSubTest(
                test,
                _as_test(_RemoteSubTest(test, description, sub_id)),
                error(test, data, data[3]),
            )


class ParallelTestSuite(unittest.TestSuite):
    """Run groups of tests (one class each) in ``processes`` forked workers.

    Its ``run(result)`` replays every worker's events into ``result``, so a
    ``TextTestRunner`` prints and times it like any suite.

    :param subsuites: the groups of tests, one class each.
    :param processes: the number of workers.
    :param databases: the run's databases (worker N gets its N-th clone).
    :param failfast: stop at the first failure or error.
    :param buffer: capture the tests' output (``-b``).
    :param sql_capture: the ``--debug-sql`` capture.
    """

    def __init__(
        self,
        subsuites: list[list[unittest.TestCase]],
        processes: int,
        databases: RunDatabases,
        failfast: bool = False,
        buffer: bool = False,
        sql_capture: SQLCapture | None = None,
    ) -> None:
        super().__init__([test for group in subsuites for test in group])
        self.subsuites = subsuites
        self.processes = processes
        self.databases = databases
        self.config: dict[str, t.Any] = {
            "failfast": failfast,
            "buffer": buffer,
            "sql_capture": sql_capture,
        }

    def run(self, result: unittest.TestResult, debug: bool = False) -> unittest.TestResult:
        # Imported when a parallel run starts: multiprocessing is slow to import.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        STATE.parallel = self
        context = multiprocessing.get_context("fork")
        counter = context.Value("i", 0)
        # Unlike multiprocessing.Pool, the executor notices a worker that dies
        # (a crash, a kill, os._exit in a test) instead of waiting forever.
        executor = ProcessPoolExecutor(
            self.processes,
            mp_context=context,
            initializer=_init_worker,
            initargs=(counter, self.databases),
        )
        pending = {executor.submit(_run_subsuite, i): i for i in range(len(self.subsuites))}
        try:
            for future in as_completed(pending):
                try:
                    index, events = future.result()
                except BrokenProcessPool:
                    self._report_lost(
                        result,
                        sorted(
                            i
                            for f, i in pending.items()
                            if not f.done() or f.exception() is not None
                        ),
                    )
                    break
                del pending[future]
                _replay(result, self.subsuites[index], events)
                if result.shouldStop:
                    break
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
            STATE.parallel = None
        return result

    def _report_lost(self, result: unittest.TestResult, indexes: t.Iterable[int]) -> None:
        """A worker died: the classes that had not reported are errors, not silence."""
        for index in indexes:
            tests = self.subsuites[index]
            if not tests:
                continue
            first = tests[0]
            holder = _Holder(
                f"{type(first).__module__}.{type(first).__qualname__} (worker process)"
            )
            message = (
                f"A worker process died while running or before running these "
                f"{len(tests)} test(s) of {type(first).__qualname__} (killed, crashed, or "
                "a test called os._exit()); their results are lost."
            )
            result.addError(
                _as_test(holder),
                _remote_exc_info(RemoteError, RemoteError(message, message, "WorkerDied")),
            )
