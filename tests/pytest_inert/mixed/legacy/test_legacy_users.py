"""Not moved yet: the project's own fixtures (legacy/conftest.py), on SQLite."""

from flask import url_for
from shop.models import User, usernames


def test_own_database(db):
    assert db.engine.url.drivername == "sqlite"
    assert usernames() == []
    db.session.add(User(username="legacy"))
    db.session.commit()


def test_own_user_fixture(user):
    assert usernames() == ["foo"]


def test_own_request(user, testapp):
    res = testapp.post(url_for("public.add_user"), {"username": "bar"}).follow()
    assert res.json == ["bar", "foo"]
