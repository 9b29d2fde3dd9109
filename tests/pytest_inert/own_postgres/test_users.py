import sys

import sqlalchemy as sa
from shop.models import User, usernames


def test_add(session):
    session.add(User(username="alice"))
    session.commit()
    assert usernames() == ["alice"]


def test_rolled_back(session):
    assert usernames() == []
    session.add(User(username="alice"))
    session.commit()


def test_a_request_in_the_tests_transaction(session, client):
    resp = client.post("/users", data={"username": "bob"}, follow_redirects=True)
    assert resp.get_json() == ["bob"]
    assert usernames() == ["bob"]


def test_the_projects_own_database(session):
    assert session.execute(sa.text("SELECT current_database()")).scalar().startswith("test_")
    assert "flask_dbtestcase.cases.classes" not in sys.modules


def test_db_without_session(db, app):
    with app.app_context():
        assert db.session.execute(sa.text("SELECT 1")).scalar() == 1


def test_home(client):
    assert client.get("/").text == "Home"
