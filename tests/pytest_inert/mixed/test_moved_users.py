"""Moved over: the plugin's app (app_factory in pyproject.toml), db and client."""

from flask import url_for
from shop.models import User, usernames


def test_the_test_database(db):
    assert db.engine.url.drivername.startswith("postgresql")
    assert db.engine.url.database.startswith("test_")
    assert usernames() == []
    db.session.add(User(username="moved"))
    db.session.commit()


def test_a_request_in_the_savepoint(db, client):
    resp = client.post(url_for("public.add_user"), data={"username": "carol"})
    assert resp.status_code == 302
    assert client.get(url_for("public.users")).get_json() == ["carol"]
    assert usernames() == ["carol"]


def test_nothing_stays(db):
    assert usernames() == []
