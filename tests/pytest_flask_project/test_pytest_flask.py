"""pytest-flask's fixtures and marker on the plugin's app."""

import os

import flask
import pytest
from flask import url_for
from myapp import Thing, names


def test_the_app_in_use(app):
    assert app.config.get("OWN_APP", False) == (os.environ.get("OWN_APP") == "1")


def test_url_for_and_a_request(db, client):
    assert flask.has_request_context()
    resp = client.post(url_for("add_thing"), json={"name": "a"})
    assert resp == 201  # pytest-flask's response class
    assert names() == ["a"]


def test_rolled_back(db, client):
    assert names() == []
    assert client.get(url_for("list_things")).json == []


def test_config(config, app, db):
    assert config is app.config
    assert config["TESTING"] is True


def test_accept_json(client, accept_json, db):
    assert client.get("/accept", headers=accept_json).json == "application/json"


@pytest.mark.options(greeting="hello")
def test_options_marker(app, db):
    assert app.config["GREETING"] == "hello"
    db.session.add(Thing(name="options"))
    db.session.commit()


def test_options_are_undone(app):
    assert "GREETING" not in app.config


def test_one_app_context_the_tests(db):
    # pytest-flask's request context shares the test's app context: its g, its session.
    flask.g.seen = True
    assert flask.request.path == "/"
    db.session.add(Thing(name="ctx"))
    db.session.commit()
    assert names() == ["ctx"]


def test_g_is_fresh(db):
    assert not hasattr(flask.g, "seen")


@pytest.mark.flask_db
def test_the_marker_alone():
    assert flask.has_request_context()
    assert Thing.query.count() == 0


def test_transactional(transactional_db, client):
    assert client.post(url_for("add_thing"), json={"name": "real"}) == 201
    assert names() == ["real"]
