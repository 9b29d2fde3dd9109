"""live_server in a db test: the server's requests run in the test's transaction, rolled back."""

import json
import urllib.request

from myapp import Thing, names
from test_transactional import committed_names


def call(url, method="GET", payload=None):
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"}, method=method
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        return resp.status, json.load(resp)


def test_a_live_server_in_the_tests_transaction(live_server, db, flask_dbtestcase_database):
    assert call(f"{live_server.url}/things") == (200, [])  # nothing from another test
    db.session.add(Thing(name="flushed"))
    db.session.flush()  # not committed: the browser sees it all the same
    assert call(f"{live_server.url}/things") == (200, ["flushed"])
    assert call(f"{live_server.url}/things", "POST", {"name": "posted"})[0] == 201
    assert names() == ["flushed", "posted"]  # what the request committed
    assert committed_names(flask_dbtestcase_database) == []  # rolled back after the test


def test_b_live_server_alone_is_rolled_back(live_server, flask_dbtestcase_database):
    assert call(f"{live_server.url}/things") == (200, [])
    assert call(f"{live_server.url}/things", "POST", {"name": "posted"})[0] == 201
    assert call(f"{live_server.url}/things") == (200, ["posted"])
    assert committed_names(flask_dbtestcase_database) == []
