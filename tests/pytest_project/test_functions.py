"""Each test starts from an empty table, whatever ran before it, and commits."""

import pytest
from flask import g
from myapp import Thing, names


@pytest.fixture
def committed_in_fixture(db):
    db.session.add(Thing(name="from-fixture"))
    db.session.commit()


def test_commits_in_a_fixture_the_test_and_a_request(committed_in_fixture, db, client, record):
    assert names() == ["from-fixture"]
    db.session.add(Thing(name="from-test"))
    db.session.commit()
    assert client.post("/things", json={"name": "from-request"}).status_code == 201
    assert names() == ["from-fixture", "from-request", "from-test"]
    record(db.session)


def test_sees_nothing_of_the_others(db, client, record):
    assert names() == []
    assert client.get("/things").get_json() == []
    db.session.add(Thing(name="from-test"))
    db.session.commit()
    record(db.session)


@pytest.mark.parametrize("n", range(3))
def test_parametrized_tests_commit_the_same_unique_name(db_session, n):
    assert names() == []
    db_session.add(Thing(name="unique"))
    db_session.commit()


@pytest.mark.flask_db
def test_the_marker_gives_the_database():
    assert Thing.query.count() == 0
    Thing.query.session.add(Thing(name="marked"))
    Thing.query.session.commit()


def test_an_app_context_of_its_own(app, db):
    assert not hasattr(g, "seen")
    g.seen = True
    assert names() == []
    db.session.add(Thing(name="g"))
    db.session.commit()
