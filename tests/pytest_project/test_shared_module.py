"""Data made once for the module (module_db), rolled back when the module ends."""

import pytest
from myapp import Thing, names


@pytest.fixture(scope="module")
def alice(module_db):
    thing = Thing(name="alice")
    module_db.session.add(thing)
    module_db.session.commit()
    return thing


def test_starts_from_the_shared_data(alice, db):
    assert names() == ["alice"]
    db.session.add(Thing(name="one"))
    db.session.commit()
    alice.name = "changed in a test"


def test_starts_from_the_shared_data_too(alice, db):
    assert names() == ["alice"]
    assert alice.name == "alice"  # the change of another test is gone
    db.session.add(Thing(name="two"))
    db.session.commit()


def test_a_request_sees_the_shared_data(alice, client):
    # alice asks for module_db, so this test gets its savepoint without asking for db.
    assert client.get("/things").get_json() == ["alice"]
    assert client.post("/things", json={"name": "three"}).status_code == 201


def test_a_copy_in_the_tests_session(alice, db):
    mine = db.session.merge(alice, load=False)
    mine.name = "renamed"
    db.session.commit()
    assert names() == ["renamed"]
