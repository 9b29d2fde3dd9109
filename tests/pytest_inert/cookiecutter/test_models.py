import sys

from shop.models import User, usernames


def test_get_by_id(db):
    user = User(username="bar")
    db.session.add(user)
    db.session.commit()
    assert db.session.get(User, user.id) is user


def test_starts_empty(db):
    assert usernames() == []


def test_the_user_fixture(user, db):
    assert usernames() == ["foo"]
    assert db.engine.url.drivername == "sqlite"


def test_nothing_of_the_plugin_was_built(db):
    assert "flask_dbtestcase.cases.classes" not in sys.modules
