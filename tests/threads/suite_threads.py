"""Threads of the app on the shared connection, in pairs: each test checks nothing leaked.

Two threads of the app, each in an app context of its own (as a threaded
worker runs them), share the test's one connection, which serialises their transactions by
nesting: a thread whose transaction lies below another's open one waits for
it, so every commit is kept and every rollback undoes its own work; a wait
that never ends (a deadlock) and a rollback that would undo another thread's
commit are refused with an IsolationError naming both threads, which fails
the test at its end (these tests take the refusals back). Every test's
setUp checks, on the test connection and on a separate real one, that no
earlier test (of this class or another) left rows behind, whatever the
order. The threads are synchronised with Events and Barriers, never sleeps.
tests/test_threads.py runs this module in the project's suite and, in
subprocesses, reversed, shuffled and with ``--parallel 2``.
"""

from __future__ import annotations

import functools
import threading
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from flask import Flask, jsonify, request

from flask_dbtestcase import FlaskDBTestCase, IsolationError
from flask_dbtestcase.cases.testdb import current_database_url
from tests.sampleapp import Item, Note, create_app, db
from tests.support import run_sql

#: How long a thread may wait for another before the test fails (a deadlock, not a timing).
WAIT = 30


def create_threaded_app(config: dict[str, t.Any] | None = None) -> Flask:
    """The sample app, with routes that start a worker thread and join it."""
    app = create_app(config)

    @app.post("/threaded")
    def threaded() -> t.Any:
        db.session.add(Note(item_id=db.session.scalar(sa.select(Item.id)), text="route"))
        db.session.flush()  # the route's transaction is open while the worker commits
        run_in_thread(app, add_notes, "worker")
        db.session.commit()
        return jsonify(notes=db.session.scalar(sa.select(sa.func.count(Note.id)))), 201

    @app.post("/slow")
    def slow() -> t.Any:
        time.sleep(float(request.args["s"]))
        return jsonify(ok=True)

    @app.get("/pooled")
    def pooled() -> t.Any:
        db.session.scalar(sa.select(Item.id))  # the request's transaction is open meanwhile
        with ThreadPoolExecutor(2) as pool:
            names = list(pool.map(functools.partial(read_in_pool, app), range(4)))
        return jsonify(names=names, notes=db.session.scalar(sa.select(sa.func.count(Note.id))))

    return app


def read_in_pool(app: Flask, n: int) -> str:
    """Read the item's name in an app context of the pool's thread, and write a note."""
    with app.app_context():
        name = db.session.scalar(sa.select(Item.name))
        add_notes(f"pool-{n}")
        return t.cast(str, name)


def add_notes(*texts: str) -> None:
    """Commit one note per text, each in a transaction of its own."""
    item_id = db.session.scalar(sa.select(Item.id))
    for text in texts:
        db.session.add(Note(item_id=item_id, text=text))
        db.session.commit()


def run_in_thread(app: Flask, target: t.Callable[..., None], *args: t.Any) -> None:
    """Run ``target`` in a thread of its own, in an app context of its own, and join it."""
    worker = Worker(app, target, *args)
    worker.start()
    worker.join(WAIT)
    worker.check()


class Worker(threading.Thread):
    """A thread of the app: runs ``target`` in an app context; keeps what it raised."""

    def __init__(
        self, app: Flask, target: t.Callable[..., None], *args: t.Any, name: str = ""
    ) -> None:
        super().__init__(name=name or f"worker-{target.__name__}", daemon=True)
        self.app = app
        self.work = target
        self.work_args = args
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.app.app_context():
                self.work(*self.work_args)
        except BaseException as exc:  # noqa: BLE001 - reported by check()
            self.error = exc

    def check(self) -> None:
        """Fail if the thread still runs or raised."""
        if self.is_alive():
            raise AssertionError(f"{self.name} did not finish within {WAIT} s")
        if self.error is not None:
            raise self.error


def notes() -> list[str]:
    return sorted(db.session.scalars(sa.select(Note.text)).all())


class ThreadCase(FlaskDBTestCase):
    app_factory = create_threaded_app

    @classmethod
    def setUpTestData(cls):
        db.session.add(Item(name="class"))
        db.session.commit()

    def setUp(self):
        self.assertNothingLeaked()

    def assertNothingLeaked(self):
        names = self.session.scalars(sa.select(Item.name)).all()
        self.assertEqual(names, ["class"], "class data")
        self.assertRowCount(Note, 0)
        leaks = "SELECT (SELECT count(*) FROM item) + (SELECT count(*) FROM note)"
        self.assertEqual(run_sql(current_database_url(), leaks)[0][0], 0, "committed rows")

    def start(self, target: t.Callable[..., None], *args: t.Any, name: str = "") -> Worker:
        worker = Worker(self.app, target, *args, name=name)
        worker.start()
        return worker

    def join(self, *workers: Worker) -> None:
        for worker in workers:
            worker.join(WAIT)
        for worker in workers:
            worker.check()

    def refusals(self) -> list[str]:
        """Take what was refused during the test (it would fail the test at its end)."""
        conn = db.session.connection().connection.dbapi_connection
        return conn.savepoints.turns.take_refusals()

    def assertRefused(self, worker: Worker, *threads: Worker) -> None:
        """``worker`` raised an IsolationError naming ``threads`` and the way out."""
        worker.join(WAIT)
        self.assertFalse(worker.is_alive())
        self.assertIsInstance(worker.error, IsolationError, worker.error)
        message = str(worker.error)
        for thread in threads:
            self.assertIn(repr(thread.name), message)
        self.assertIn("FlaskDBTransactionTestCase", message)
        self.assertNotIn("does not exist", message)


def _wait(event: threading.Event) -> None:
    if not event.wait(WAIT):
        raise AssertionError("the other thread never got there")


class SequentialThreadsTests(ThreadCase):
    """Transactions of two threads that do not overlap: every commit is kept."""

    def test_threads_take_turns(self):
        turns = [threading.Semaphore(1), threading.Semaphore(0)]

        def take_turns(me: int) -> None:
            for i in range(20):
                if not turns[me].acquire(timeout=WAIT):
                    raise AssertionError("the other thread never gave the turn back")
                item_id = db.session.scalar(sa.select(Item.id))
                db.session.add(Note(item_id=item_id, text=f"{me}-{i}"))
                db.session.commit()
                db.session.add(Note(item_id=item_id, text=f"rolled back {me}-{i}"))
                db.session.flush()
                db.session.rollback()  # its own transaction only
                turns[1 - me].release()

        self.join(self.start(take_turns, 0, name="a"), self.start(take_turns, 1, name="b"))
        self.assertEqual(len(notes()), 40)  # production has 40
        self.assertNotIn("rolled back", " ".join(notes()))

    def test_one_thread_after_the_other(self):
        self.join(self.start(add_notes, "a1", "a2"))
        self.join(self.start(add_notes, "b1", "b2"))
        self.assertEqual(notes(), ["a1", "a2", "b1", "b2"])


class NestedThreadsTests(ThreadCase):
    """A thread's transactions inside another thread's, joined before it ends."""

    def test_thread_joined_inside_a_route(self):
        resp = self.client.post("/threaded")
        self.assertEqual(resp.status_code, 201, resp.get_data(as_text=True))
        self.assertEqual(resp.json, {"notes": 2})
        self.assertEqual(notes(), ["route", "worker"])

    def test_worker_inside_a_thread_transaction(self):
        def outer() -> None:
            db.session.add(Note(item_id=db.session.scalar(sa.select(Item.id)), text="outer"))
            db.session.flush()
            run_in_thread(self.app, inner)
            with db.session.begin_nested():
                db.session.add(Note(item_id=db.session.scalar(sa.select(Item.id)), text="nested"))
            db.session.commit()

        def inner() -> None:
            add_notes("inner")
            db.session.add(Note(item_id=db.session.scalar(sa.select(Item.id)), text="undone"))
            db.session.flush()
            db.session.rollback()

        self.join(self.start(outer))
        self.assertEqual(notes(), ["inner", "nested", "outer"])

    def test_worker_inside_the_tests_transaction(self):
        db.session.add(Note(item_id=db.session.scalar(sa.select(Item.id)), text="test"))
        db.session.flush()  # the test's own transaction stays open
        run_in_thread(self.app, add_notes, "worker")
        self.assertEqual(notes(), ["test", "worker"])
        db.session.commit()


class OverlappingThreadsTests(ThreadCase):
    """Transactions of two threads that overlap: serialised by their nesting, never refused."""

    def test_two_workers_keep_exactly_their_commits(self):
        # 26.5: production keeps every committed row and no rolled-back one.
        start = threading.Barrier(2, timeout=WAIT)
        committed: list[str] = []

        def cycles(me: str) -> None:
            item_id = db.session.scalar(sa.select(Item.id))
            db.session.commit()
            start.wait()
            for i in range(40):
                db.session.add(Note(item_id=item_id, text=f"{me}-{i}"))
                db.session.flush()
                if i % 3 == 0:
                    db.session.rollback()
                else:
                    db.session.commit()
                    committed.append(f"{me}-{i}")

        self.join(self.start(cycles, "a", name="a"), self.start(cycles, "b", name="b"))
        self.assertEqual(notes(), sorted(committed))
        self.assertEqual(len(committed), 52)
        self.assertEqual(self.refusals(), [])

    def test_thread_below_waits_for_the_one_above(self):
        # "first" is parked (waiting for an event) inside its transaction, so
        # "second" begins on top of it; "first" then waits for "second" to end.
        opened, second_done = threading.Event(), threading.Event()

        def first() -> None:
            db.session.add(Note(item_id=db.session.scalar(sa.select(Item.id)), text="first"))
            db.session.flush()
            opened.set()
            _wait(second_done)
            db.session.add(Note(item_id=db.session.scalar(sa.select(Item.id)), text="first-2"))
            db.session.commit()

        def second() -> None:
            _wait(opened)
            add_notes("second")
            second_done.set()

        self.join(self.start(first, name="first"), self.start(second, name="second"))
        self.assertEqual(notes(), ["first", "first-2", "second"])

    def test_read_only_rollback_keeps_a_commit_made_inside_it(self):
        def reader() -> None:
            db.session.scalar(sa.select(Item.id))  # a read-only transaction stays open
            run_in_thread(self.app, add_notes, "inner")
            db.session.rollback()  # production: undoes nothing of the inner thread's

        self.join(self.start(reader, name="reader"))
        self.assertEqual(notes(), ["inner"])
        self.assertEqual(self.refusals(), [])

    def test_request_reads_through_a_thread_pool(self):
        resp = self.client.get("/pooled")
        self.assertEqual(resp.status_code, 200, resp.get_data(as_text=True))
        self.assertEqual(resp.json, {"names": ["class"] * 4, "notes": 4})
        self.assertEqual(notes(), ["pool-0", "pool-1", "pool-2", "pool-3"])

    def test_rollback_undoing_another_threads_commit_is_refused(self):
        def first() -> None:
            db.session.add(Note(item_id=db.session.scalar(sa.select(Item.id)), text="first"))
            db.session.flush()
            self.join(self.start(add_notes, "second", name="second"))
            db.session.rollback()

        a = self.start(first, name="first")
        a.join(WAIT)
        self.assertRefused(a, a)
        self.assertIn("'second'", str(a.error))
        self.assertIn("had committed", str(a.error))
        self.assertIn("second", notes())  # production keeps it; so does the test
        self.assertEqual(len(self.refusals()), 1)  # the test would fail at its end


class DeadlockTests(ThreadCase):
    """Two threads that wait for each other: refused after the bound, naming both."""

    thread_wait_timeout = 0.5

    def test_deadlock_is_refused_naming_both(self):
        opened, resume = threading.Event(), threading.Event()

        def below() -> None:
            db.session.add(Note(item_id=db.session.scalar(sa.select(Item.id)), text="below"))
            db.session.flush()
            worker = self.start(above, name="above")
            _wait(opened)  # parked: "above" begins on top of this transaction
            try:
                db.session.scalar(sa.select(sa.func.count(Note.id)))  # waits for "above"
            except IsolationError as exc:
                refused.append(exc)  # caught, as worker code that logs errors does
            finally:
                resume.set()
                self.join(worker)

        def above() -> None:
            add_notes("above-1")
            db.session.add(Note(item_id=db.session.scalar(sa.select(Item.id)), text="above-2"))
            db.session.flush()
            opened.set()
            _wait(resume)  # waits for "below", whose statement waits for this transaction
            db.session.commit()

        refused: list[IsolationError] = []
        a = self.start(below, name="below")
        # The end of the thread's app context rolled back its transaction,
        # into which "above" had committed meanwhile: refused too.
        self.assertRefused(a, a, a)
        self.assertIn("Thread 'below' rolled back", str(a.error))
        self.assertEqual(len(refused), 1)
        message = str(refused[0])
        self.assertIn("'below' waited 0.5 s to send a statement", message)
        self.assertIn("thread 'above'", message)
        self.assertEqual(self.refusals(), [message, str(a.error)])  # the test would fail
        self.assertEqual(notes(), ["above-1", "above-2", "below"])


class LostSavepointTests(ThreadCase):
    """26.6: a statement the driver cannot adapt, after a commit, loses no savepoint."""

    def unadaptable_after_commit(self, name: str) -> None:
        db.session.add(Note(item_id=db.session.scalar(sa.select(Item.id)), text=name))
        db.session.commit()
        with self.assertRaises(sa.exc.StatementError) as caught:
            db.session.execute(sa.text("SELECT :x"), {"x": {"a": 1}})
        self.assertNotIsInstance(caught.exception, IsolationError)
        db.session.rollback()
        self.assertIn(name, notes())  # the session works after rollback(), as in production
        db.session.add(Note(item_id=db.session.scalar(sa.select(Item.id)), text=f"{name}-after"))
        db.session.commit()

    def test_1_unadaptable_parameter_after_a_commit(self):
        self.unadaptable_after_commit("kept")
        self.assertEqual(notes(), ["kept", "kept-after"])

    def test_2_in_two_threads(self):
        start = threading.Barrier(2, timeout=WAIT)

        def both(name: str) -> None:
            start.wait()
            for i in range(5):
                self.unadaptable_after_commit(f"{name}{i}")

        self.join(self.start(both, "a", name="a"), self.start(both, "b", name="b"))
        self.assertEqual(len(notes()), 20)
        self.assertEqual(self.refusals(), [])


class LaterThreadsTests(ThreadCase):
    """A later class: the class data is intact, nothing leaked from the threads' tests."""

    def test_intact(self):
        self.join(self.start(add_notes, "later"))
        self.assertEqual(notes(), ["later"])
