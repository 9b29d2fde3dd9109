import pytest
from shop.models import User, usernames

from flask_dbtestcase import IsolationError


@pytest.mark.parametrize("name", ["a", "b"])
def test_in_the_savepoint(db, name):
    assert db.engine.url.database.startswith("test_")
    assert usernames() == ["from-the-wrapper"]
    db.session.add(User(username=name))
    db.session.commit()


def test_access_without_the_database_is_refused(app):
    with pytest.raises(IsolationError, match="Database access not allowed"):
        usernames()
