"""The same escape inside the scope of module_db's shared data: named at its own teardown."""

import pytest
from test_escape import check_nothing_leaked
from test_escape import test_2_escapes as escape


@pytest.fixture(scope="module")
def shared(module_db):
    return "shared"


def test_a_sends_a_statement(shared, db, flask_dbtestcase_database):
    check_nothing_leaked(flask_dbtestcase_database)


def test_b_escapes(shared, db, flask_dbtestcase_database):
    escape(db, flask_dbtestcase_database)


def test_c_sends_a_statement(shared, db, flask_dbtestcase_database):
    check_nothing_leaked(flask_dbtestcase_database)
