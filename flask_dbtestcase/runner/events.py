"""What a ``--parallel`` worker tells the parent: its result records each
outcome as a picklable event (:class:`RemoteTestResult`), sends the events
of each test as it ends over an :class:`EventChannel`, and the parent
replays them into its own result (:func:`replay`)."""

from __future__ import annotations

import time
import typing as t
import unittest

from .outcomes import (
    OptExcInfo,
    RemoteError,
    ResultMixin,
    exception_class,
    exception_message,
    exception_type,
    is_setup_error,
)
from .sqlcapture import SQLCapture

if t.TYPE_CHECKING:
    from multiprocessing.context import ForkContext

__all__ = ["Batch", "Event", "EventChannel", "RemoteTestResult", "add_holder_error", "replay"]

#: What a worker's result records, replayed by the parent: the name of the
#: result method, a reference to the test, then that method's arguments.
Event = tuple[t.Any, ...]
#: An error as a worker sends it: text, message, exception type, is a failure.
#: A worker's error: its traceback, message, class name, whether it is a
#: failure, and whether it is a set-up error.
_RemoteErr = tuple[str, str, str, bool, bool]
#: What a worker sends: the index of its group, events, and whether the group is done.
Batch = tuple[int, list[Event], bool]


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

    def put(self, batch: Batch) -> None:
        """Send one batch (in a worker).

        :param batch: the group's index, its events, whether the group is done.
        """
        with self._lock:
            self._writer.send(batch)

    def get(self, timeout: float) -> Batch | None:
        """Return the next batch, or ``None`` when none came within ``timeout`` seconds.

        :param timeout: how long to wait, in seconds.
        """
        if self._reader.poll(timeout):
            batch: Batch = self._reader.recv()
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
        setup_error = is_setup_error(err)
        return (text, exception_message(err), exception_type(err), is_failure, setup_error)

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
                error[4],
            )
            self.events.append(("addSubTest", self._ref(test), str(subtest), subtest.id(), error))


def replay(
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
        text, message, exc_type, _, setup_error = data
        cls = (
            test.failureException
            if failure and getattr(test, "failureException", None)
            else RemoteError
        )
        return _remote_exc_info(cls, RemoteError(text, message, exc_type, setup_error))

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


def add_holder_error(result: unittest.TestResult, description: str, message: str) -> None:
    """Report an error of no test (a dead worker's lost tests) into ``result``.

    :param result: the parent's result.
    :param description: what the report names, e.g. ``module.Class (worker process)``.
    :param message: the error, in plain words.
    """
    error = RemoteError(message, message, "WorkerDied")
    result.addError(_as_test(_Holder(description)), _remote_exc_info(RemoteError, error))
