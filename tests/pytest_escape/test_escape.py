"""test_2 commits a row through a raw psycopg2 connection; the others check nothing leaked.

Each test but test_2 checks that the table is empty, on the test
connection and on a separate real one. test_1 and test_3 send statements
through the app; test_4 sends none.
"""

import psycopg2
import sqlalchemy as sa

from tests.appstate.stateapp import Gadget, db
from tests.support import dsn, run_sql


def check_nothing_leaked(url):
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Gadget)) == 0
    assert run_sql(url, "SELECT count(*) FROM appstate_gadget") == [(0,)]


def test_1_sends_a_statement(db, flask_dbtestcase_database):
    check_nothing_leaked(flask_dbtestcase_database)
    db.session.add(Gadget(name="flushed"))
    db.session.flush()


def test_2_escapes(db, flask_dbtestcase_database):
    conn = psycopg2.connect(**dsn(flask_dbtestcase_database))
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO appstate_gadget (name) VALUES ('escaped')")
        conn.commit()
    finally:
        conn.close()


def test_3_sends_a_statement(db, flask_dbtestcase_database):
    check_nothing_leaked(flask_dbtestcase_database)


def test_4_sends_nothing(db, flask_dbtestcase_database):
    assert run_sql(flask_dbtestcase_database, "SELECT count(*) FROM appstate_gadget") == [(0,)]
