"""The fixtures cookiecutter-flask generates: the project's own app and db, in-memory SQLite."""

import pytest
from shop import create_app
from shop.models import User
from shop.models import db as _db
from webtest import TestApp


@pytest.fixture
def app():
    _app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    ctx = _app.test_request_context()
    ctx.push()
    yield _app
    ctx.pop()


@pytest.fixture
def testapp(app):
    return TestApp(app)


@pytest.fixture
def db(app):
    _db.app = app
    with app.app_context():
        _db.create_all()
    yield _db
    _db.session.close()
    _db.drop_all()


@pytest.fixture
def user(db):
    user = User(username="foo")
    db.session.add(user)
    db.session.commit()
    return user
