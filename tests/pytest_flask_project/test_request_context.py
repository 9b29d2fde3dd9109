"""A test that uses the app, db or client runs in a test request context."""

import flask
from flask import url_for
from myapp import Thing, names


def test_app(app):
    assert flask.request.path == "/"
    assert url_for("list_things") == "/things"


def test_db(db):
    assert url_for("list_things", _external=True) == "http://localhost/things"
    db.session.add(Thing(name="x"))
    db.session.commit()
    assert names() == ["x"]


def test_client(client, db):
    assert client.get(url_for("list_things")).get_json() == []
