"""A project's own db fixture that requests the plugin's (its own name): the plugin's is used."""

import pytest
from shop.models import User


@pytest.fixture
def db(db):
    db.session.add(User(username="from-the-wrapper"))
    db.session.commit()
    return db
