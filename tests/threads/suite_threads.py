"""Threads of the app on the shared connection, in pairs: each test checks nothing leaked.

Two threads of the app, each in an app context of its own (as a threaded
worker runs them), share the test's one connection. What that connection
can do correctly, it does: transactions that do not overlap, or that nest
(a worker started inside another thread's transaction and joined before it
ends). What it cannot, it refuses with an IsolationError naming both
threads, and never loses what the other thread committed. Every test's
setUp checks, on the test connection and on a separate real one, that no
earlier test (of this class or another) left rows behind, whatever the
order. The threads are synchronised with Events and Barriers, never sleeps.
tests/test_threads.py runs this module in the project's suite and, in
subprocesses, reversed, shuffled and with ``--parallel 2``.
"""

from __future__ import annotations

import threading
import typing as t

import sqlalchemy as sa
from flask import Flask, jsonify

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

    return app


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
    """Overlapping transactions of two threads: refused where one would undo the other."""

    def overlap(self, first: t.Callable[[], None]) -> tuple[Worker, Worker]:
        """Run ``first`` in one thread while another has a transaction open above its own.

        ``first`` adds the note "first" and flushes (``first_opens``), then
        the other thread adds "second" and flushes, then ``first`` goes on;
        the other thread commits once ``first`` is done and its own rollback, if any, ran.
        """
        self.opened, self.second_open = threading.Event(), threading.Event()
        self.second_done, self.first_done = threading.Event(), threading.Event()

        def run_second() -> None:
            _wait(self.opened)
            db.session.add(Note(item_id=db.session.scalar(sa.select(Item.id)), text="second"))
            db.session.flush()
            self.second_open.set()
            _wait(self.first_done)
            db.session.commit()
            self.second_done.set()

        def run_first() -> None:
            try:
                first()
            finally:
                self.first_done.set()

        a, b = self.start(run_first, name="first"), self.start(run_second, name="second")
        a.join(WAIT)
        self.join(b)
        return a, b

    def first_opens(self) -> None:
        db.session.add(Note(item_id=db.session.scalar(sa.select(Item.id)), text="first"))
        db.session.flush()
        self.opened.set()
        _wait(self.second_open)

    def test_rollback_under_another_threads_transaction_is_refused(self):
        def first() -> None:
            self.first_opens()
            db.session.rollback()  # would destroy the other thread's savepoint

        a, b = self.overlap(first)
        self.assertRefused(a, a, b)
        self.assertIn("rolled back", str(a.error))
        self.assertEqual(notes(), ["first", "second"])  # refused: kept, as a commit

    def test_statement_under_another_threads_transaction_is_refused(self):
        def first() -> None:
            self.first_opens()
            try:
                db.session.execute(
                    sa.text("INSERT INTO note (item_id, text) SELECT id, 'refused' FROM item")
                )
            finally:
                self.first_done.set()
                _wait(self.second_done)  # then its rollback (at the context's end) is its own

        a, b = self.overlap(first)
        self.assertRefused(a, a, b)
        # The statement was refused; then the end of the thread's app context
        # rolled back its transaction, into which the other thread had since
        # committed: refused too (keeping "first"), so "second" is not lost.
        self.assertIn("sent a statement", str(a.error.__context__))
        self.assertIn("committed inside it", str(a.error))
        self.assertEqual(notes(), ["first", "second"])

    def test_rollback_undoing_another_threads_commit_is_refused(self):
        committed = threading.Event()

        def first() -> None:
            db.session.add(Note(item_id=db.session.scalar(sa.select(Item.id)), text="first"))
            db.session.flush()
            self.join(self.start(add_notes, "second", name="second"))
            committed.set()  # it committed inside this thread's transaction
            db.session.rollback()

        a = self.start(first, name="first")
        a.join(WAIT)
        self.assertRefused(a, a)
        self.assertIn("'second'", str(a.error))
        self.assertIn("committed inside it", str(a.error))
        self.assertTrue(committed.is_set())
        self.assertIn("second", notes())  # production keeps it; so does the test

    def test_commit_under_another_threads_transaction_keeps_both(self):
        def first() -> None:
            self.first_opens()
            db.session.commit()  # released once the other thread's transaction ends

        a, b = self.overlap(first)
        self.join(a)
        self.assertEqual(notes(), ["first", "second"])

    def test_concurrent_commits_are_kept_or_refused(self):
        start = threading.Barrier(2, timeout=WAIT)
        committed: list[str] = []

        def commit_many(me: str) -> None:
            item_id = db.session.scalar(sa.select(Item.id))
            start.wait()
            for i in range(20):
                db.session.add(Note(item_id=item_id, text=f"{me}-{i}"))
                db.session.commit()
                committed.append(f"{me}-{i}")

        workers = [self.start(commit_many, "a", name="a"), self.start(commit_many, "b", name="b")]
        for worker in workers:
            worker.join(WAIT)
            self.assertFalse(worker.is_alive())
        refused = {w.name for w in workers if w.error is not None}
        for worker in workers:
            if worker.error is not None:
                self.assertIsInstance(worker.error, IsolationError, worker.error)
                self.assertNotIn("does not exist", str(worker.error))
        kept = notes()
        self.assertLessEqual(set(committed), set(kept), "a commit was lost")
        extra = {text.split("-")[0] for text in set(kept) - set(committed)}
        self.assertLessEqual(extra, refused)


class LaterThreadsTests(ThreadCase):
    """A later class: the class data is intact, nothing leaked from the threads' tests."""

    def test_intact(self):
        self.join(self.start(add_notes, "later"))
        self.assertEqual(notes(), ["later"])
