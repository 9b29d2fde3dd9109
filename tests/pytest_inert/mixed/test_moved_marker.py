"""Moved over with the marker and the query counter."""

import pytest
from shop.models import User, usernames


@pytest.mark.flask_db
def test_the_marker():
    assert usernames() == []
    User.query.session.add(User(username="marked"))
    User.query.session.commit()


def test_counting(db, assert_num_queries):
    with assert_num_queries(1):
        assert usernames() == []
