"""FlaskDBLiveServerTestCase: real HTTP against the app, real commits, tables emptied after."""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from flask_dbtestcase.liveserver import FlaskDBLiveServerTestCase
from tests.sampleapp import Item, create_app


class LiveServerTests(FlaskDBLiveServerTestCase):
    app_factory = create_app

    def setUp(self):
        self.assertRowCount(Item, 0)  # each test starts from empty tables

    def post(self, path, payload):
        request = urllib.request.Request(
            self.live_server_url + path,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.load(resp)

    def test_http_request_commits(self):
        status, body = self.post("/items", {"name": "over-http"})
        self.assertEqual(status, 201)
        self.assertRowCount(Item, 1, name="over-http")

    def test_concurrent_requests(self):
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda n: self.post("/items", {"name": f"c{n}"}), range(8)))
        self.assertEqual([status for status, _ in results], [201] * 8)
        self.assertRowCount(Item, 8)
        with urllib.request.urlopen(self.live_server_url + "/items", timeout=10) as resp:
            self.assertEqual(len(json.load(resp)["names"]), 8)
