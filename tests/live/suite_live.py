"""The live servers, in pairs: each test checks that nothing leaked from the one before.

``FlaskDBLiveServerTestCase`` serves the app inside the test's transaction:
the server's requests see what the test flushed, the test sees what they
committed, overlapping requests take turns, and everything is rolled back
after the test. ``FlaskDBTransactionLiveServerTestCase`` really commits and
empties the tables. Every test's setUp checks, on the test connection and on
a separate real one, that no earlier test (of this class or another) left
rows behind, whatever the order. tests/test_liveserver.py runs this module in
the project's suite and, in subprocesses, reversed, shuffled and with
``--parallel 2``.
"""

from __future__ import annotations

import json
import threading
import time
import typing as t
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, jsonify, request

from flask_dbtestcase import IsolationError
from flask_dbtestcase.cases.testdb import current_database_url
from flask_dbtestcase.liveserver import (
    FlaskDBLiveServerTestCase,
    FlaskDBTransactionLiveServerTestCase,
)
from tests.sampleapp import Item, create_app, db
from tests.support import run_sql

#: Set by a test, read by the /hold route: the held request may go on.
RELEASE = threading.Event()


def create_live_app(config: dict[str, t.Any] | None = None) -> Flask:
    """The sample app, with a route that holds its transaction open while it runs."""
    app = create_app(config)

    @app.post("/hold")
    def hold() -> t.Any:
        db.session.add(Item(name="held"))
        db.session.flush()
        deadline = time.monotonic() + 10
        while not RELEASE.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)  # running, not parked: its transaction holds the connection
        db.session.commit()
        return jsonify(ok=True), 201

    @app.post("/guarded")
    def guarded() -> t.Any:
        try:
            db.session.add(Item(name=request.json["name"]))
            db.session.commit()
        except IsolationError as exc:  # caught, as an app's error handler would
            db.session.rollback()
            return jsonify(error=str(exc)), 503
        return jsonify(ok=True), 201

    return app


def committed_names() -> list[str]:
    """The item names really committed, read on a separate real connection."""
    rows = run_sql(current_database_url(), "SELECT name FROM item ORDER BY name")
    return [name for (name,) in rows]


class LiveCase:
    """HTTP helpers for the live server tests."""

    live_server_url: str

    def call(self, method: str, path: str, payload: t.Any = None) -> tuple[int, t.Any]:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            self.live_server_url + path,
            data=data,
            headers={"Content-Type": "application/json"},
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return resp.status, json.load(resp)
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def names_over_http(self) -> list[str]:
        status, body = self.call("GET", "/items")
        assert status == 200, body
        return t.cast(list[str], body["names"])


class RolledBackLiveTests(LiveCase, FlaskDBLiveServerTestCase):
    app_factory = create_live_app
    thread_wait_timeout = 1.0

    @classmethod
    def setUpTestData(cls):
        db.session.add(Item(name="class"))
        db.session.commit()

    def setUp(self):
        self.assertEqual(self.names_over_http(), ["class"])
        self.assertEqual(committed_names(), [], "really committed rows")

    def test_browser_sees_what_the_test_flushed(self):
        db.session.add(Item(name="flushed"))
        db.session.flush()  # not committed: the server's requests see it all the same
        self.assertEqual(self.names_over_http(), ["class", "flushed"])

    def test_test_sees_what_a_request_committed(self):
        status, _ = self.call("POST", "/items", {"name": "posted"})
        self.assertEqual(status, 201)
        self.assertRowCount(Item, 1, name="posted")
        self.assertEqual(committed_names(), [])  # inside the test's transaction

    def test_concurrent_requests_take_turns(self):
        def post(n: int) -> int:
            return self.call("POST", "/items", {"name": f"c{n}"})[0]

        def get(_: int) -> int:
            return self.call("GET", "/items")[0]

        with ThreadPoolExecutor(6) as pool:
            posts = pool.map(post, range(12))
            gets = pool.map(get, range(12))
            self.assertEqual(list(posts) + list(gets), [201] * 12 + [200] * 12)
        self.assertRowCount(Item, 13)
        self.assertEqual(len(self.names_over_http()), 13)

    def test_requests_waiting_for_each_other_are_refused_naming_both(self):
        RELEASE.clear()
        with ThreadPoolExecutor(2) as pool:
            held = pool.submit(self.call, "POST", "/hold")
            while "POST /hold" not in self.live_server.running():
                time.sleep(0.01)
            time.sleep(0.1)  # /hold has flushed and holds its transaction open
            status, body = self.call("POST", "/guarded", {"name": "blocked"})
            RELEASE.set()
            self.assertEqual(held.result(), (201, {"ok": True}))
        self.assertEqual(status, 503, body)
        conn = db.session.connection().connection.dbapi_connection
        refused = conn.savepoints.turns.take_refusals()  # else the test fails at its end
        self.assertEqual(refused, [body["error"]])
        self.assertIn(
            "Thread 'request POST /guarded' waited 1 s to begin a transaction", refused[0]
        )
        self.assertIn("thread 'request POST /hold'", refused[0])
        self.assertEqual(sorted(self.names_over_http()), ["class", "held"])


class LaterLiveTests(LiveCase, FlaskDBLiveServerTestCase):
    """A later class: nothing the first one's requests did is left."""

    app_factory = create_live_app

    def test_nothing_left(self):
        self.assertEqual(self.names_over_http(), [])
        self.assertEqual(committed_names(), [])
        self.assertRowCount(Item, 0)


class TransactionLiveTests(LiveCase, FlaskDBTransactionLiveServerTestCase):
    """Requests really commit; the tables are emptied after each test."""

    app_factory = create_live_app

    def setUp(self):
        self.assertEqual(committed_names(), [])

    def test_1_request_really_commits(self):
        status, _ = self.call("POST", "/items", {"name": "real"})
        self.assertEqual(status, 201)
        self.assertEqual(committed_names(), ["real"])

    def test_2_request_really_commits(self):
        self.test_1_request_really_commits()

    def test_concurrent_requests(self):
        with ThreadPoolExecutor(4) as pool:
            statuses = list(
                pool.map(lambda n: self.call("POST", "/items", {"name": f"c{n}"})[0], range(8))
            )
        self.assertEqual(statuses, [201] * 8)
        self.assertEqual(len(committed_names()), 8)
