"""``--parallel``: the test classes spread over forked worker processes,
each on its own clone of the test database; every worker records what
happened as picklable events, sends them to the parent as each test ends,
and the parent replays them into its result as they arrive (so the dots, or
the ``-v 2`` lines, show the run's progress).
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
    from concurrent.futures import Future
    from multiprocessing.context import ForkContext
    from multiprocessing.sharedctypes import Synchronized

__all__ = ["Event", "ParallelTestSuite", "RemoteTestResult"]

#: What a worker's result records, replayed by the parent: the name of the
#: result method, a reference to the test, then that method's arguments.
Event = tuple[t.Any, ...]
#: An error as a worker sends it: text, message, exception type, is a failure.
_RemoteErr = tuple[str, str, str, bool]
#: What a worker sends: the index of its group, events, and whether the group is done.
_Batch = tuple[int, list[Event], bool]
#: How often the parent, waiting for events, checks that the workers are alive.
_POLL_SECONDS = 0.1


class EventChannel:
    """Carry the workers' batches of events to the parent, in order, as they are sent.

    A pipe written under a lock: a write is finished when ``put`` returns,
    so what a worker sent before it died (``os._exit`` in a test, a kill)
    still reaches the parent, unlike a ``multiprocessing.Queue``, whose
    feeder thread may not have written it yet.

    :param context: the multiprocessing context of the workers.
    """

    def __init__(self, context: ForkContext) -> None:
        self._reader, self._writer = context.Pipe(duplex=False)
        self._lock = context.Lock()

    def put(self, batch: _Batch) -> None:
        """Send one batch (in a worker).

        :param batch: the group's index, its events, whether the group is done.
        """
        with self._lock:
            self._writer.send(batch)

    def get(self, timeout: float) -> _Batch | None:
        """Return the next batch, or ``None`` when none came within ``timeout`` seconds.

        :param timeout: how long to wait, in seconds.
        """
        if self._reader.poll(timeout):
            batch: _Batch = self._reader.recv()
            return batch
        return None

    def close(self) -> None:
        """Close both ends (in the parent, once the workers are gone)."""
        self._reader.close()
        self._writer.close()


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
    :param send: called with the events recorded so far each time a test ends
        (they are then forgotten); ``None``: they accumulate in :attr:`events`.
    """

    def __init__(
        self,
        index_of: dict[int, int],
        failfast: bool = False,
        buffer: bool = False,
        sql_capture: SQLCapture | None = None,
        send: t.Callable[[list[Event]], None] | None = None,
    ) -> None:
        super().__init__()
        self.failfast = failfast
        self.buffer = buffer
        self.sql_capture = sql_capture
        self.index_of = index_of
        self.events: list[Event] = []
        self._started: dict[int, float] = {}
        self._send = send

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
        if self._send is not None:
            self._send(self.events)
            self.events = []

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


def _run_subsuite(index: int) -> int:
    """Run group ``index`` in this worker, sending its events to the parent as tests end."""
    suite: ParallelTestSuite = STATE.parallel
    tests = suite.subsuites[index]
    config = suite.config
    index_of = {id(test): i for i, test in enumerate(tests)}
    events_queue = suite.events_queue
    assert events_queue is not None  # ParallelTestSuite.run made it before forking

    def send(events: list[Event]) -> None:
        events_queue.put((index, events, False))

    result = RemoteTestResult(
        index_of,
        failfast=config.get("failfast", False),
        buffer=config.get("buffer", False),
        sql_capture=config.get("sql_capture"),
        send=send,
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
    # The last events (a tearDownClass error, say) and the end of the group.
    events_queue.put((index, result.events, True))
    return index


def _replay(
    result: unittest.TestResult,
    tests: t.Sequence[unittest.TestCase],
    events: t.Iterable[Event],
    finished: set[int] | None = None,
) -> None:
    """Feed a worker's events into the parent's result.

    :param finished: collects the positions of the tests that ended.
    """

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
            if finished is not None and ref[0] == "test":
                finished.add(ref[1])
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

    Its ``run(result)`` replays every worker's events into ``result`` as each
    test ends, so a ``TextTestRunner`` prints and times it like any suite.

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
        #: The workers' events, on their way to the parent (while ``run`` runs).
        self.events_queue: EventChannel | None = None

    def run(self, result: unittest.TestResult, debug: bool = False) -> unittest.TestResult:
        # Imported when a parallel run starts: multiprocessing is slow to import.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        STATE.parallel = self
        context = multiprocessing.get_context("fork")
        counter = context.Value("i", 0)
        self.events_queue = events_queue = EventChannel(context)
        # Unlike multiprocessing.Pool, the executor notices a worker that dies
        # (a crash, a kill, os._exit in a test) instead of waiting forever.
        executor = ProcessPoolExecutor(
            self.processes,
            mp_context=context,
            initializer=_init_worker,
            initargs=(counter, self.databases),
        )
        futures = [executor.submit(_run_subsuite, i) for i in range(len(self.subsuites))]
        try:
            self._receive(result, events_queue, futures)
        finally:
            for future in futures:
                future.cancel()
            # Workers still running finish their group: keep reading, so that
            # none of them blocks on a full pipe, until they are done.
            while not all(future.done() for future in futures):
                events_queue.get(timeout=_POLL_SECONDS)
            executor.shutdown(wait=True, cancel_futures=True)
            events_queue.close()
            self.events_queue = None
            STATE.parallel = None
        return result

    def _receive(
        self,
        result: unittest.TestResult,
        events_queue: EventChannel,
        futures: t.Sequence[Future[int]],
    ) -> None:
        """Replay the workers' events as they arrive, until every group is done."""
        outstanding = set(range(len(self.subsuites)))
        finished: dict[int, set[int]] = {index: set() for index in outstanding}
        while outstanding and not result.shouldStop:
            batch = events_queue.get(timeout=_POLL_SECONDS)
            if batch is None:
                if any(f.done() and not f.cancelled() and f.exception() for f in futures):
                    # A worker died (BrokenProcessPool): take what was sent, then
                    # report the tests that have no result.
                    while (batch := events_queue.get(timeout=0)) is not None:
                        self._take(result, batch, outstanding, finished)
                    self._report_lost(result, sorted(outstanding), finished)
                    return
                continue
            self._take(result, batch, outstanding, finished)

    def _take(
        self,
        result: unittest.TestResult,
        batch: _Batch,
        outstanding: set[int],
        finished: t.Mapping[int, set[int]],
    ) -> None:
        """Replay one batch; a group whose last batch it is is no longer outstanding."""
        index, events, done = batch
        _replay(result, self.subsuites[index], events, finished[index])
        if done:
            outstanding.discard(index)

    def _report_lost(
        self,
        result: unittest.TestResult,
        indexes: t.Iterable[int],
        finished: t.Mapping[int, set[int]],
    ) -> None:
        """A worker died: the tests of its group that had not ended are errors, not silence."""
        for index in indexes:
            tests = self.subsuites[index]
            if not tests:
                continue
            lost = [test for i, test in enumerate(tests) if i not in finished[index]]
            first = tests[0]
            holder = _Holder(
                f"{type(first).__module__}.{type(first).__qualname__} (worker process)"
            )
            if lost:
                lost_name = getattr(lost[0], "_testMethodName", str(lost[0]))
                message = (
                    f"A worker process died while running or before running these "
                    f"{len(lost)} test(s) of {type(first).__qualname__}, from {lost_name} on "
                    "(killed, crashed, or a test called os._exit()); their results are lost."
                )
            else:
                message = (
                    f"A worker process died after the tests of {type(first).__qualname__} "
                    "(in its tearDownClass or tearDownModule: killed, crashed, or os._exit())."
                )
            result.addError(
                _as_test(holder),
                _remote_exc_info(RemoteError, RemoteError(message, message, "WorkerDied")),
            )
