"""Data of a module (module_db) beside pytest-flask's request context."""

import flask
import pytest
from myapp import Thing, names


@pytest.fixture(scope="module")
def alice(module_db):
    module_db.session.add(Thing(name="alice"))
    module_db.session.commit()


def test_starts_from_the_module_data(alice, db):
    assert flask.has_request_context()
    assert names() == ["alice"]
    db.session.add(Thing(name="one"))
    db.session.commit()


def test_starts_from_the_module_data_too(alice, client):
    assert client.get("/things").json == ["alice"]
