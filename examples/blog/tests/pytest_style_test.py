"""The same app tested pytest-style: fixtures instead of a TestCase class.

`make example` runs the whole suite under pytest too, so these functions and
the FlaskDBTestCase classes beside them share one test database and app. The
file name ends in `_test.py`: pytest collects it, and the unittest runner's
discovery (`test*.py`) leaves it to pytest.
"""

import pytest

from blog.models import Post, User


@pytest.fixture(scope="module")
def alice(module_db):
    """Created once for the module, rolled back at its end."""
    user = User(username="alice")
    module_db.session.add(user)
    module_db.session.add(Post(author=user, title="Hello"))
    module_db.session.commit()
    return user


def test_signup(db, client):
    resp = client.post("/users", json={"username": "carol"})

    assert resp.status_code == 201
    assert db.session.get(User, resp.get_json()["id"]).username == "carol"


def test_alice_is_there_and_nobody_else(alice, db):
    assert [u.username for u in db.session.scalars(db.select(User))] == ["alice"]


def test_reading_a_user_is_one_query(alice, client, assert_num_queries):
    url = f"/users/{alice.id}"  # (the module's objects are reloaded for each test)
    with assert_num_queries(1):
        assert client.get(url).get_json()["post_count"] == 1
