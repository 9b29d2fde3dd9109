"""@pytest.mark.no_request_context: an app context only (without pytest-flask)."""

import flask
import pytest
from myapp import Thing, names


@pytest.mark.no_request_context
def test_app_without_a_request_context(app):
    assert not flask.has_request_context()
    assert flask.current_app._get_current_object() is app


@pytest.mark.no_request_context
def test_db_without_a_request_context(db):
    assert not flask.has_request_context()
    db.session.add(Thing(name="y"))
    db.session.commit()
    assert names() == ["y"]


@pytest.mark.no_request_context
class TestAClass:
    def test_in_a_marked_class(self, client, db):
        assert not flask.has_request_context()
        assert client.get("/things").get_json() == []
