"""What a FlaskDBTransactionTestCase test leaves, in pairs: each test checks, then leaves one thing.

Every test's setUp checks, on the test's own connection and on a separate
real one, that no earlier test (of this class or another) left a
session-level advisory lock, session state on a pooled connection, a table
or other object it created, a moved sequence (a standalone one too), or
rows; and, in the ``serialized_rollback`` class, that the build's seed rows
are there. Then the test leaves one of those behind. Whatever the order
(file order, reversed, shuffled, split over ``--parallel`` workers), the
test that runs after a leak catches it. tests/test_transaction_leaks.py runs
this module in the project's suite and, in subprocesses, in every order.
"""

from __future__ import annotations

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase, FlaskDBTransactionTestCase
from flask_dbtestcase.cases.testdb import current_database_url
from tests.support import run_sql
from tests.transactional import SEEDS, City, Country, Employee, Ticket, create_app, db

#: What a separate connection sees: can it take the lock, what objects and sequences are left.
SEPARATE = (
    "SELECT pg_try_advisory_lock(42), to_regclass('scratch'), to_regclass('scratch_view'),"
    " to_regclass('scratch_seq'), to_regtype('scratch_mood'), to_regnamespace('scratch_schema'),"
    " pg_sequence_last_value('order_number_seq'), pg_sequence_last_value('ticket_id_seq'),"
    " (SELECT count(*) FROM ticket) + (SELECT count(*) FROM city) + (SELECT count(*) FROM employee)"
)
#: Session state on the test's own connection.
SESSION = (
    "SELECT (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()),"
    " (SELECT count(*) FROM pg_prepared_statements WHERE from_sql),"
    " (SELECT count(*) FROM pg_listening_channels()),"
    " current_setting('search_path'), to_regclass('pg_temp.made_here')"
)


def country_codes() -> list[str]:
    url = current_database_url()
    return [row[0] for row in run_sql(url, "SELECT code FROM country ORDER BY code")]


class LeakCase(FlaskDBTransactionTestCase):
    app_factory = create_app
    #: The country rows every test starts with.
    countries: list[str] = []

    def setUp(self):
        self.assertNothingLeaked()

    def assertNothingLeaked(self):
        separate = run_sql(current_database_url(), SEPARATE)[0]
        self.assertEqual(tuple(separate), (True, *[None] * 7, 0), "separate connection")
        self.assertEqual(country_codes(), self.countries, "seed rows, separate connection")
        state = db.session.execute(sa.text(SESSION)).one()
        self.assertEqual(tuple(state), (0, 0, 0, '"$user", public', None), "session state")
        codes = db.session.scalars(sa.select(Country.code).order_by(Country.code)).all()
        self.assertEqual(codes, self.countries, "seed rows, test connection")
        db.session.commit()


class SessionLeakTests(LeakCase):
    """Session state on a pooled connection of the app's engine (issue 26, item 7a)."""

    def leave(self, statement: str) -> None:
        db.session.execute(sa.text(statement))
        db.session.commit()  # the connection goes back to the pool with it

    def test_advisory_lock(self):
        self.leave("SELECT pg_advisory_lock(42)")

    def test_set(self):
        self.leave("SET search_path TO pg_catalog")

    def test_temp_table(self):
        self.leave("CREATE TEMP TABLE made_here (x int)")

    def test_prepare(self):
        self.leave("PREPARE mine AS SELECT 1")

    def test_listen(self):
        self.leave("LISTEN somewhere")


class CreatedObjectTests(LeakCase):
    """Tables and other objects a test creates and commits (item 7b)."""

    def test_create_table(self):
        db.session.execute(sa.text("CREATE TABLE scratch (id serial PRIMARY KEY, x int)"))
        db.session.execute(sa.text("INSERT INTO scratch (x) VALUES (1)"))
        db.session.commit()

    def test_create_others(self):
        for statement in (
            "CREATE VIEW scratch_view AS SELECT * FROM ticket",
            "CREATE SEQUENCE scratch_seq",
            "CREATE TYPE scratch_mood AS ENUM ('ok')",
            "CREATE SCHEMA scratch_schema",
            "CREATE TABLE scratch_schema.inside (x int)",
        ):
            db.session.execute(sa.text(statement))
        db.session.commit()

    def test_table_pointing_at_an_app_table(self):
        db.session.add(Ticket())
        db.session.commit()
        db.session.execute(sa.text("CREATE TABLE scratch (t int REFERENCES ticket)"))
        db.session.execute(sa.text("INSERT INTO scratch SELECT id FROM ticket"))
        db.session.commit()


class SequenceTests(LeakCase):
    """A standalone Sequence as a column default is reset with the tables' (item 7c)."""

    def add_tickets(self):
        db.session.add_all([Ticket(), Ticket(), Ticket()])
        db.session.commit()
        numbers = db.session.scalars(sa.select(Ticket.number).order_by(Ticket.number)).all()
        self.assertEqual(numbers, [1, 2, 3])

    def test_tickets(self):
        self.add_tickets()

    def test_tickets_again(self):
        self.add_tickets()

    def test_nextval_alone(self):
        self.assertEqual(db.session.scalar(sa.text("SELECT nextval('order_number_seq')")), 1)
        db.session.rollback()  # a sequence moves on anyway

    def test_foreign_keys(self):
        # Rows in tables that point at each other and at themselves: emptied in order.
        db.session.add(Country(code="de"))
        db.session.flush()
        city = City(country_id=db.session.scalar(sa.select(Country.id).filter_by(code="de")),
                    name="Berlin")  # fmt: skip
        db.session.add(city)
        db.session.flush()
        boss = Employee(city_id=city.id)
        db.session.add(boss)
        db.session.flush()
        db.session.add(Employee(boss_id=boss.id, city_id=city.id))
        db.session.commit()


class SeededTests(SequenceTests):
    """serialized_rollback: the build's rows are there in every test (item 7d)."""

    serialized_rollback = True
    countries = sorted(SEEDS)

    def test_delete_the_seed_rows(self):
        db.session.execute(sa.delete(Country))
        db.session.commit()
        self.assertEqual(country_codes(), [])

    def test_change_a_seed_row(self):
        db.session.execute(sa.update(Country).values(code="xx").where(Country.code == "fr"))
        db.session.commit()

    def test_new_row_after_the_seeds(self):
        db.session.add(Country(code="be"))
        db.session.commit()  # the sequence is past the seed rows: no duplicate key
        self.assertEqual(db.session.scalar(sa.select(Country.id).filter_by(code="be")), 3)


class EmptiedTests(LeakCase):
    """Without serialized_rollback, the seeded table is empty in every test, as in Django."""

    def test_a_country(self):
        db.session.add(Country(code="it"))
        db.session.commit()
        self.assertEqual(db.session.scalar(sa.select(Country.id)), 1)


class LaterSavepointTests(FlaskDBTestCase):
    """A FlaskDBTestCase class sees nothing the transactional tests left."""

    app_factory = create_app

    def test_nothing_left(self):
        separate = run_sql(current_database_url(), SEPARATE)[0]
        self.assertEqual(tuple(separate), (True, *[None] * 7, 0), "separate connection")
        state = db.session.execute(sa.text(SESSION)).one()
        self.assertEqual(tuple(state), (0, 0, 0, '"$user", public', None), "session state")
