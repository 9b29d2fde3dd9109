"""A thread a test starts and never joins: its work never lands in another test (issue 26.2).

``test_1`` starts a worker that commits a row every 20 ms in an app context
of its own, as background workers do, and returns without joining it. In
production its rows are committed. Here, once its test has ended, its
statements are refused (it catches the errors, as worker code that logs them
does), so no later test, of this class or another, sees a row of it, on the
test connection or on a separate real one. A later test that runs while the
worker is refused takes the report naming the thread and ``test_1`` (which
would fail that test otherwise: see suite_late_report). A thread that
outlives its test without touching the database, and a thread pool that
serves each test's jobs in an app context per job, are not refused.
tests/test_threads.py runs this module reversed, shuffled and with
``--parallel 2``, in a process each.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from flask import Flask

from flask_dbtestcase import IsolationError
from tests.sampleapp import Item, Note, db
from tests.threads.suite_threads import WAIT, ThreadCase


class LateWorker(threading.Thread):
    """Commit an item every 20 ms in one app context; note each refusal and go on."""

    def __init__(self, app: Flask) -> None:
        super().__init__(name="late-worker", daemon=True)
        self.app = app
        self.committed = threading.Event()
        self.refused: list[IsolationError] = []
        self.refused_again = threading.Condition()

    def run(self) -> None:
        n = 0
        with self.app.app_context():
            while not stop.is_set():
                n += 1
                try:
                    db.session.add(Item(name=f"late-{n}"))
                    db.session.commit()
                    self.committed.set()
                except IsolationError as exc:
                    db.session.rollback()
                    with self.refused_again:
                        self.refused.append(exc)
                        self.refused_again.notify_all()
                except Exception:  # noqa: BLE001 - the run ended under it
                    db.session.rollback()
                time.sleep(0.02)

    def wait_refused(self, more_than: int, timeout: float = WAIT) -> bool:
        """Wait until the worker was refused more than ``more_than`` times; tell if it was."""
        with self.refused_again:
            return self.refused_again.wait_for(lambda: len(self.refused) > more_than, timeout)


#: The worker test_1 started in this process, if it ran here.
started: list[LateWorker] = []
#: Set at the module's end, which the worker outlives, as it outlives every test.
stop = threading.Event()
#: A thread pool that outlives every test, as an app's executor does.
pool = ThreadPoolExecutor(1, thread_name_prefix="app-pool")


def add_note(app: Flask, text: str) -> int:
    """A pool job: commit a note in an app context of its own; return the notes it sees."""
    with app.app_context():
        db.session.add(Note(item_id=db.session.scalar(sa.select(Item.id)), text=text))
        db.session.commit()
        return db.session.scalar(sa.select(sa.func.count(Note.id))) or 0


class LateCase(ThreadCase):
    def tearDown(self):
        # The worker is reported once, in the test it was first refused in
        # (or the next, if no test ran): taken here, it fails no test.
        reports = self.refusals()
        self.assertTrue(all("('late-worker')" in report for report in reports), reports)

    def assertLateWorkerRefused(self) -> None:
        """If test_1 ran in this process: the worker is refused now, and its rows never land."""
        if not started:
            return
        worker = started[0]
        refused = worker.wait_refused(len(worker.refused), timeout=2)  # 100 tries, every 20 ms
        self.assertNothingLeaked()
        self.assertTrue(refused, "the late worker was never refused")
        message = str(worker.refused[-1])
        self.assertIn(f"A thread started by {LateWorkerTests.__module__}.LateWorkerTests", message)
        self.assertIn("test_1_starts_a_worker_and_returns ('late-worker')", message)
        self.assertIn("Join your threads before the test returns", message)
        self.assertNothingLeaked()


class LateWorkerTests(LateCase):
    def test_1_starts_a_worker_and_returns(self):
        worker = LateWorker(self.app)
        started.append(worker)
        worker.start()
        self.assertTrue(worker.committed.wait(WAIT), worker.refused)
        self.assertGreater(self.session.scalar(sa.select(sa.func.count(Item.id))), 1)
        self.assertEqual(worker.refused, [])  # within its test, it works as in production

    def test_2_sees_nothing_of_it(self):
        self.assertLateWorkerRefused()

    def test_3_thread_outliving_its_test_without_the_database(self):
        threading.Thread(target=time.sleep, args=(1,), name="idle", daemon=True).start()

    def test_4_pool_serves_this_test(self):
        self.assertEqual(pool.submit(add_note, self.app, "four").result(WAIT), 1)
        self.assertNotIn("app-pool", " ".join(self.refusals()))

    def test_5_pool_serves_this_test_too(self):
        self.assertEqual(pool.submit(add_note, self.app, "five").result(WAIT), 1)
        self.assertNotIn("app-pool", " ".join(self.refusals()))


class LaterLateWorkerTests(LateCase):
    """A later class: nothing of the worker, the pool or the idle thread."""

    def test_intact(self):
        self.assertLateWorkerRefused()
        self.assertEqual(pool.submit(add_note, self.app, "later").result(WAIT), 1)
        self.assertNotIn("'idle'", " ".join(self.refusals()))


def tearDownModule() -> None:
    stop.set()
    for worker in started:
        worker.join(WAIT)
