"""A cache-like extension reset after each test by an autouse fixture on the plugin's app.

Each test checks that the cache and the table are empty (on the test
connection and on a separate real one), then fills the cache from a row
that its rollback removes. The fixture is the documented pattern (with
Flask-Caching its body would be ``cache.clear()`` in an app context).
"""

import pytest
import sqlalchemy as sa

from tests.appstate.stateapp import Gadget, db, gadget_names
from tests.support import run_sql


@pytest.fixture(autouse=True)
def reset_app_state(app):
    yield
    app.extensions["mycache"].clear()


def check_then_fill(app, url, name, commit=False):
    assert app.extensions["mycache"] == {}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Gadget)) == 0
    assert run_sql(url, "SELECT count(*) FROM appstate_gadget") == [(0,)]
    db.session.add(Gadget(name=name))
    db.session.commit() if commit else db.session.flush()
    assert gadget_names() == [name]


def test_1_fills(app, db, flask_dbtestcase_database):
    check_then_fill(app, flask_dbtestcase_database, "flushed-1")


def test_2_fills(app, db, flask_dbtestcase_database):
    check_then_fill(app, flask_dbtestcase_database, "flushed-2")


def test_3_commits_and_fills(app, transactional_db, flask_dbtestcase_database):
    check_then_fill(app, flask_dbtestcase_database, "committed", commit=True)
