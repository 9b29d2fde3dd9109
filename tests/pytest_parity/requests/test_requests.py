"""A request context made by hand, and app.config changed for one test.

Every test that changes app.config first checks it finds it as the factory
made it, so in any order a change that leaked would fail the next one.
"""

import flask
import pytest
from flask import url_for
from myapp import Thing


def assert_config_untouched(app):
    assert app.config["GREETING"] == "hello"
    assert "ADDED" not in app.config


def test_view_called_by_hand(make_request_ctx, app, db):
    db.session.add(Thing(name="seen"))
    db.session.flush()
    with make_request_ctx("/things/seen?q=1", method="POST"):
        assert (flask.request.method, flask.request.path) == ("POST", "/things/seen")
        assert url_for("show_thing", name="x") == "/things/x"
        response = app.view_functions["show_thing"]("seen")
    assert response.json == {
        "found": True,  # the context shares the test's session
        "method": "POST",
        "query": "1",
        "url": "/things/seen",
        "greeting": "hello",
    }
    assert flask.request.path == "/"  # the test's own request context is back


@pytest.mark.parametrize("run", [1, 2])
def test_config_fixture(config, app, client, db, run):
    assert config is app.config
    assert_config_untouched(app)
    config["GREETING"] = "changed"
    config["ADDED"] = run
    assert client.get("/things/x").json["greeting"] == "changed"


@pytest.mark.parametrize("run", [1, 2])
def test_app_config_in_a_db_test(app, db, run):
    assert_config_untouched(app)
    app.config.update(GREETING="changed", ADDED=run)


@pytest.mark.parametrize("run", [1, 2])
def test_app_config_in_an_app_test(app, run):
    assert_config_untouched(app)
    app.config.update(GREETING="changed", ADDED=run)
