"""The flask_db marker's arguments (pytest-django's): each test checks what its marker gives it.

The tests named test_refused_* must not run: their marker is refused when
they are set up (tests/test_plugin_parity.py checks the messages).
"""

import psycopg2
import pytest
import sqlalchemy as sa
from myapp import Audit, Thing, db

from flask_dbtestcase import IsolationError
from flask_dbtestcase.pytest_plugin.session import manager_of


def committed_names(url):
    """The names committed in the test database, seen by a connection of its own."""
    parsed = sa.make_url(url)
    args = parsed.translate_connect_args(username="user", database="dbname")
    args.update(parsed.query)
    conn = psycopg2.connect(**args)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT name FROM parity_things ORDER BY name")
            return [name for (name,) in cur.fetchall()]
    finally:
        conn.close()


def open_case(request):
    """The hidden test case class the test runs in."""
    case = manager_of(request.config).open
    assert case is not None
    return case.cls


@pytest.mark.flask_db
def test_plain_marker_is_a_db_test(request, flask_dbtestcase_database):
    db.session.add(Thing(name="rolled back"))
    db.session.commit()
    assert committed_names(flask_dbtestcase_database) == []
    assert open_case(request).databases == "__all__"


@pytest.mark.flask_db(transaction=True)
def test_transaction_really_commits(request, flask_dbtestcase_database):
    assert committed_names(flask_dbtestcase_database) == []
    db.session.add(Thing(name="committed"))
    db.session.commit()
    assert committed_names(flask_dbtestcase_database) == ["committed"]
    assert not getattr(open_case(request), "serialized_rollback", False)


@pytest.mark.flask_db(True)
def test_transaction_given_by_position(flask_dbtestcase_database):
    db.session.add(Thing(name="committed"))
    db.session.commit()
    assert committed_names(flask_dbtestcase_database) == ["committed"]


@pytest.mark.flask_db
def test_db_test_moves_the_sequence_on():
    things = [Thing(name=f"thing {n}") for n in range(3)]
    db.session.add_all(things)
    db.session.commit()
    assert things[-1].id >= 3  # rolled back, but a sequence does not go back


@pytest.mark.flask_db(reset_sequences=True)
def test_reset_sequences(flask_dbtestcase_database):
    thing = Thing(name="first")
    db.session.add(thing)
    db.session.commit()
    assert thing.id == 1
    assert committed_names(flask_dbtestcase_database) == ["first"]  # a transactional test


@pytest.mark.flask_db(databases=["default"])
def test_databases_limits_the_test():
    db.session.add(Thing(name="main only"))
    db.session.commit()
    with pytest.raises(IsolationError, match=r"Add 'audit' to @pytest.mark.flask_db.databases"):
        db.session.execute(sa.select(Audit)).all()


@pytest.mark.flask_db(databases=["audit", "default"])
def test_databases_listed_both():
    db.session.add(Audit(event="listed"))
    db.session.commit()
    assert db.session.scalars(sa.select(Audit.event)).all() == ["listed"]


def test_bind_usable_without_the_marker(db):
    assert db.session.scalars(sa.select(Audit.event)).all() == []


@pytest.mark.flask_db(transaction=True, serialized_rollback=True)
def test_serialized_rollback_is_the_case_class_attribute(request):
    cls = open_case(request)
    assert cls.serialized_rollback is True
    assert cls.__mro__[1].__name__ == "FlaskDBTransactionTestCase"


@pytest.mark.flask_db(serialized_rollback=True)
def test_serialized_rollback_in_a_db_test_has_nothing_to_do(request):
    assert not getattr(open_case(request), "serialized_rollback", False)


@pytest.mark.flask_db(transacton=True)
def test_refused_unknown_argument():
    raise AssertionError("ran")


@pytest.mark.flask_db(transaction="yes")
def test_refused_bad_value():
    raise AssertionError("ran")


@pytest.mark.flask_db(False, False, None, False, None)
def test_refused_too_many():
    raise AssertionError("ran")


@pytest.mark.flask_db(databases="nope")
def test_refused_unknown_database():
    raise AssertionError("ran")


@pytest.mark.flask_db(databases=[1])
def test_refused_database_not_a_name():
    raise AssertionError("ran")
