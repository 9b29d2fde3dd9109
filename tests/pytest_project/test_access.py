"""A test that did not ask for a database fixture cannot touch the database."""

import pytest
from myapp import Thing

from flask_dbtestcase import IsolationError


def test_app_without_db_is_refused(app):
    with pytest.raises(IsolationError, match="Database access not allowed"):
        Thing.query.count()


def test_client_without_db_is_refused(client):
    with pytest.raises(IsolationError, match="does not ask for a database fixture"):
        client.get("/things")


def test_an_app_context_without_db(app):
    assert app.config["TESTING"] is True
