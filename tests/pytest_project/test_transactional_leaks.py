"""transactional_db leaves nothing: each test checks (its connection, a separate one), then leaks.

Whatever the order (file order, reversed, shuffled, xdist), the test that runs
after one that leaked catches it.
"""

import pytest
import sqlalchemy as sa
from myapp import Thing
from test_transactional import separate_rows

CHECK = (
    "SELECT pg_try_advisory_lock(42), to_regclass('scratch'), "
    "pg_sequence_last_value('plugin_things_id_seq'), (SELECT count(*) FROM plugin_things)"
)


def separate(url):
    return separate_rows(url, CHECK)[0]


@pytest.fixture
def clean(transactional_db, flask_dbtestcase_database):
    assert separate(flask_dbtestcase_database) == (True, None, None, 0)
    session = transactional_db.session
    locks = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    assert session.execute(sa.text(locks)).scalar() == 0
    session.commit()
    return session


def test_leaves_a_lock_and_a_table(clean):
    clean.execute(sa.text("SELECT pg_advisory_lock(42)"))
    clean.execute(sa.text("CREATE TABLE scratch (x int)"))
    clean.commit()


def test_moves_the_sequence(clean):
    clean.add(Thing(name="one"))
    clean.commit()
    assert clean.scalar(sa.select(Thing.id)) == 1


def test_moves_it_again(clean):
    clean.add(Thing(name="one"))
    clean.commit()
    assert clean.scalar(sa.select(Thing.id)) == 1
