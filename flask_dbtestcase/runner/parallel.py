"""``--parallel``: the test classes spread over forked worker processes,
each on its own clone of the test database; every worker records what
happened as picklable events, sends them to the parent as each test ends,
and the parent replays them into its result as they arrive (so the dots, or
the ``-v 2`` lines, show the run's progress). The events are in
:mod:`.events`.
"""

from __future__ import annotations

import signal
import time
import traceback
import typing as t
import unittest
from types import FrameType

from ..state import Run, enter_run
from .events import Batch, Event, EventChannel, RemoteTestResult, add_holder_error, replay
from .sqlcapture import SQLCapture

if t.TYPE_CHECKING:
    from concurrent.futures import Future
    from multiprocessing.process import BaseProcess
    from multiprocessing.sharedctypes import Synchronized

__all__ = ["ParallelTestSuite"]

#: How often the parent, waiting for events, checks that the workers are alive.
_POLL_SECONDS = 0.1
#: On Ctrl-C, how long a worker asked to stop (SIGTERM) has before it is killed.
_STOP_GRACE_SECONDS = 1.0


#: The suite being run: set before its workers are forked, which read their
#: groups of tests and options from it.
_running: list[ParallelTestSuite] = []


def _ignore_sigint(signum: int, frame: FrameType | None) -> None:
    """A worker's SIGINT (Ctrl-C reaches the whole process group): the parent decides.

    A handler, not ``SIG_IGN``: an ignored signal stays ignored in the programs
    the tests start, where Ctrl-C would then do nothing; a handler is reset at exec.
    """


def _init_worker(counter: Synchronized[int], run: Run) -> None:
    signal.signal(signal.SIGINT, _ignore_sigint)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with counter.get_lock():
        counter.value += 1
        worker_id = counter.value
    databases = run.databases.for_worker(worker_id)
    enter_run(Run(run.settings, databases))
    databases.hand_over(signals=False)  # its parent stops it


def _run_subsuite(index: int) -> int:
    """Run group ``index`` in this worker, sending its events to the parent as tests end."""
    suite = _running[-1]
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


def _stop_workers(workers: t.Iterable[BaseProcess]) -> None:
    """Stop the workers at once: SIGTERM, then SIGKILL after a short grace."""
    workers = list(workers)
    for worker in workers:
        worker.terminate()
    deadline = time.monotonic() + _STOP_GRACE_SECONDS
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            worker.kill()
            worker.join(_STOP_GRACE_SECONDS)


class ParallelTestSuite(unittest.TestSuite):
    """Run groups of tests (one class each) in ``processes`` forked workers.

    Its ``run(result)`` replays every worker's events into ``result`` as each
    test ends, so a ``TextTestRunner`` prints and times it like any suite.

    :param subsuites: the groups of tests, one class each.
    :param processes: the number of workers.
    :param run: the run (worker N gets its N-th copy of the test database).
    :param failfast: stop at the first failure or error.
    :param buffer: capture the tests' output (``-b``).
    :param sql_capture: the ``--debug-sql`` capture.
    """

    def __init__(
        self,
        subsuites: list[list[unittest.TestCase]],
        processes: int,
        run: Run,
        failfast: bool = False,
        buffer: bool = False,
        sql_capture: SQLCapture | None = None,
    ) -> None:
        super().__init__([test for group in subsuites for test in group])
        self.subsuites = subsuites
        self.processes = processes
        self.parent_run = run
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

        _running.append(self)
        before = set(multiprocessing.active_children())
        context = multiprocessing.get_context("fork")
        counter = context.Value("i", 0)
        self.events_queue = events_queue = EventChannel(context)
        # Unlike multiprocessing.Pool, the executor notices a worker that dies
        # (a crash, a kill, os._exit in a test) instead of waiting forever.
        executor = ProcessPoolExecutor(
            self.processes,
            mp_context=context,
            initializer=_init_worker,
            initargs=(counter, self.parent_run),
        )
        futures = [executor.submit(_run_subsuite, i) for i in range(len(self.subsuites))]
        interrupted = False
        try:
            self._receive(result, events_queue, futures)
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            for future in futures:
                future.cancel()
            try:
                # Workers still running finish their group: keep reading, so that
                # none of them blocks on a full pipe, until they are done.
                while not interrupted and not all(future.done() for future in futures):
                    events_queue.get(timeout=_POLL_SECONDS)
            except KeyboardInterrupt:
                interrupted = True
                raise
            finally:
                if interrupted:
                    # Ctrl-C: a worker may be deep in a test's Python code,
                    # which its SIGINT handler lets run on: stop them all now
                    # (their databases go with the run's, as a dead worker's).
                    _stop_workers(set(multiprocessing.active_children()) - before)
                executor.shutdown(wait=not interrupted, cancel_futures=True)
                events_queue.close()
                self.events_queue = None
                _running.remove(self)
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
        batch: Batch,
        outstanding: set[int],
        finished: t.Mapping[int, set[int]],
    ) -> None:
        """Replay one batch; a group whose last batch it is is no longer outstanding."""
        index, events, done = batch
        replay(result, self.subsuites[index], events, finished[index])
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
            description = f"{type(first).__module__}.{type(first).__qualname__} (worker process)"
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
            add_holder_error(result, description, message)
