"""Not moved yet either: fixtures of the module's own, which win over the plugin's here."""

import pytest
from shop import create_app
from shop.models import User, usernames
from shop.models import db as _db


@pytest.fixture
def app():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        yield app


@pytest.fixture
def db(app):
    _db.create_all()
    yield _db
    _db.drop_all()


def test_module_fixtures(db):
    assert db.engine.url.drivername == "sqlite"
    db.session.add(User(username="own"))
    db.session.commit()
    assert usernames() == ["own"]


def test_module_client(app, db):
    assert app.test_client().get("/users").get_json() == []
