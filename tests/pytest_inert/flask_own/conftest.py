"""A pytest-flask project: its own app (SQLite), pytest-flask's client, config, live_server."""

import pytest
from shop import create_app
from shop.models import db


@pytest.fixture
def app():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        db.create_all()
    return app
