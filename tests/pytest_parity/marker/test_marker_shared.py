"""A test that limits its databases cannot run inside a module's shared data."""

import pytest
from myapp import Thing


@pytest.fixture(scope="module")
def shared(module_db):
    module_db.session.add(Thing(name="shared"))
    module_db.session.commit()


def test_shared_data(shared, db):
    assert db.session.query(Thing).count() == 1


@pytest.mark.flask_db(databases=["default"])
def test_refused_inside_shared_data(shared):
    raise AssertionError("ran")
