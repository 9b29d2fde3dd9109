"""Real commits (transactional_db, live_server in it): seen by other connections, emptied."""

import json
import urllib.request

import psycopg2
import sqlalchemy as sa
from myapp import Thing, names


def separate_rows(url, statement):
    """The rows ``statement`` gives on a separate, real connection (past the plugin)."""
    parsed = sa.make_url(url)
    args = parsed.translate_connect_args(username="user", database="dbname")
    args.update(parsed.query)  # the throwaway server's socket directory
    conn = psycopg2.connect(**args)
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchall()
    finally:
        conn.close()


def committed_names(url):
    rows = separate_rows(url, "SELECT name FROM plugin_things ORDER BY name")
    return [name for (name,) in rows]


def test_really_commits(transactional_db, flask_dbtestcase_database):
    assert names() == []
    transactional_db.session.add(Thing(name="real"))
    transactional_db.session.commit()
    assert committed_names(flask_dbtestcase_database) == ["real"]


def test_tables_are_emptied_after(transactional_db, flask_dbtestcase_database):
    assert committed_names(flask_dbtestcase_database) == []
    transactional_db.session.add(Thing(name="real"))
    transactional_db.session.commit()


def test_live_server_really_commits(live_server, transactional_db, flask_dbtestcase_database):
    assert committed_names(flask_dbtestcase_database) == []
    request = urllib.request.Request(
        f"{live_server.url}/things",
        data=json.dumps({"name": "over-http"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    assert urllib.request.urlopen(request, timeout=10).status == 201
    with urllib.request.urlopen(f"{live_server.url}/things", timeout=10) as resp:
        assert json.load(resp) == ["over-http"]
    assert committed_names(flask_dbtestcase_database) == ["over-http"]
