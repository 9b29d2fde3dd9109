"""Refusals the test never sees, and threads it leaves in a transaction: the test fails.

Run by tests/test_threads.py in a process of its own, which expects the three
tests to fail with the messages named there: an IsolationError raised in a
thread of the app fails the test at its end even when the app caught it; a
transaction another thread still has open when the test ends is waited for
(bounded), then named; so is a request the live server still serves.
"""

from __future__ import annotations

import threading
import time
import urllib.request

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase, IsolationError
from flask_dbtestcase.liveserver import FlaskDBLiveServerTestCase
from tests.sampleapp import Item, Note, db
from tests.threads.suite_threads import WAIT, Worker, add_notes, create_threaded_app


class CaughtTests(FlaskDBTestCase):
    app_factory = create_threaded_app
    thread_wait_timeout = 0.3

    @classmethod
    def setUpTestData(cls):
        db.session.add(Item(name="class"))
        db.session.commit()

    def test_caught_refusal_fails_the_test(self):
        caught: list[IsolationError] = []

        def catcher() -> None:
            db.session.add(Note(item_id=db.session.scalar(sa.select(Item.id)), text="mine"))
            db.session.flush()
            committer = Worker(self.app, add_notes, "theirs", name="committer")
            committer.start()
            committer.join(WAIT)
            try:
                db.session.rollback()  # would undo "committer"'s commit: refused
            except IsolationError as exc:
                caught.append(exc)  # and logged, as worker code does

        worker = Worker(self.app, catcher, name="catcher")
        worker.start()
        worker.join(WAIT)
        worker.check()
        self.assertEqual(len(caught), 1)  # passes; the test fails at its end

    def test_caught_statement_refusal_fails_the_test(self):
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            try:
                conn.execute(sa.text("CREATE DATABASE caught_db"))
            except IsolationError:
                pass  # and logged, as app code does: the test fails at its end

    def test_thread_left_in_a_transaction_fails_the_test(self):
        release = threading.Event()

        def lingering() -> None:
            db.session.add(Note(item_id=db.session.scalar(sa.select(Item.id)), text="late"))
            db.session.flush()
            release.wait(WAIT)
            db.session.rollback()

        Worker(self.app, lingering, name="lingering").start()
        timer = threading.Timer(2, release.set)
        timer.daemon = True
        timer.start()


class UnfinishedRequestTests(FlaskDBLiveServerTestCase):
    app_factory = create_threaded_app
    live_request_timeout = 0.3

    def test_request_still_running_fails_the_test(self):
        def slow_request() -> None:
            request = urllib.request.Request(
                f"{self.live_server_url}/slow?s=2", method="POST", data=b""
            )
            urllib.request.urlopen(request, timeout=WAIT).close()

        threading.Thread(target=slow_request, daemon=True).start()
        deadline = time.monotonic() + WAIT
        while not self.live_server.running() and time.monotonic() < deadline:
            time.sleep(0.01)
