"""Every engine on a test database is pinned, whoever made it: pair tests (issue 28).

Each test writes and commits through one engine: a second Flask-SQLAlchemy
instance, an engine made with ``create_engine`` at request time,
Flask-SQLAlchemy-Lite's default and named engines, a plain SQLAlchemy app's
engine and one it makes at request time. It checks that the test sees the
row (the test's connection) and that a separate real connection does not
(nothing was committed). Every test's setUp checks, on the test connection
and on a separate real one, that no earlier test of any class left a row in
any of the apps' tables, so whatever the order (file order, reversed,
shuffled, split over ``--parallel`` workers) the test after a leak catches
it. tests/test_app_kinds.py runs this module in the project's suite and, in
subprocesses, reversed, shuffled and with ``--parallel 2``.
"""

from __future__ import annotations

import unittest

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase
from flask_dbtestcase.cases.testdb import current_database_url
from flask_dbtestcase.databases.urls import bind_database_url
from tests.kinds.apps import (
    LEAKS,
    LITE_METADATA,
    NO_LITE,
    LiteOtherRow,
    LiteRow,
    MainRow,
    PlainBase,
    PlainRow,
    SecondRow,
    Session,
    create_fsa_app,
    create_lite_app,
    create_plain_app,
    db,
    lite,
    second,
)
from tests.support import run_sql


def real_leaks(database: str | None = None) -> int:
    """The kind_* rows a separate real connection sees (committed ones), on ``database``."""
    url = current_database_url()
    if database is not None:
        url = url.set(database=database)
        found = f"SELECT 1 FROM pg_database WHERE datname = '{database}'"
        if not run_sql(current_database_url(), found):
            return 0
    return int(run_sql(url, LEAKS)[0][0])


def other_database() -> str:
    """The Lite app's ``other`` engine's test database."""
    return bind_database_url(current_database_url(), "other").database or ""


class KindCase(FlaskDBTestCase):
    """Before each test: no row anywhere, on the test connection and on a real one."""

    def setUp(self):
        self.assertEqual(self.session.execute(sa.text(LEAKS)).scalar(), 0, "test connection")
        self.assertEqual(real_leaks(), 0, "committed rows")
        self.assertEqual(real_leaks(other_database()), 0, "committed rows (other)")

    def assertSeenNotCommitted(self, count, connection_count):
        """The test sees ``count`` rows; a separate real connection sees none."""
        self.assertEqual(connection_count, count, "on the test connection")
        self.assertEqual(real_leaks(), 0, "committed past the test transaction")
        self.assertEqual(real_leaks(other_database()), 0, "committed past it (other)")


class SecondFlaskSQLAlchemyTests(KindCase):
    """A second Flask-SQLAlchemy instance (another extensions key) is pinned (issue 26, 3)."""

    app_factory = create_fsa_app

    def count(self):
        return self.session.execute(sa.text(LEAKS)).scalar()

    def test_1_commit_through_the_second_instance(self):
        second.session.add(SecondRow(name="test"))
        second.session.commit()
        self.assertEqual(self.client.post("/second").status_code, 200)
        self.assertEqual(second.session.scalar(sa.select(sa.func.count(SecondRow.id))), 2)
        self.assertSeenNotCommitted(2, self.count())

    def test_2_nothing_leaked(self):
        self.assertEqual(second.session.scalar(sa.select(sa.func.count(SecondRow.id))), 0)

    def test_3_engine_made_at_request_time(self):
        db.session.add(MainRow(name="flushed by the test"))
        db.session.flush()
        self.assertEqual(self.client.post("/request-engine").status_code, 200)
        self.assertSeenNotCommitted(2, self.count())  # it saw the test's row: one connection

    def test_4_engine_made_in_the_test(self):
        engine = sa.create_engine(current_database_url())
        with engine.begin() as conn:
            conn.execute(sa.insert(MainRow).values(name="test engine"))
        engine.dispose()
        self.assertSeenNotCommitted(1, self.count())

    def test_5_query_count_spans_every_engine(self):
        with self.assertNumQueries(2):  # the second instance's INSERT, the request engine's
            self.client.post("/second")
            self.client.post("/request-engine")


@unittest.skipIf(NO_LITE, NO_LITE)
class LiteTests(KindCase):
    """Flask-SQLAlchemy-Lite's engines, each on a test database of its own, are pinned."""

    app_factory = create_lite_app
    metadata = LITE_METADATA

    def counts(self):
        with self.app.app_context():
            with lite.get_engine("other").connect() as conn:
                other = conn.scalar(sa.select(sa.func.count(LiteOtherRow.id)))
        return self.session.scalar(sa.select(sa.func.count(LiteRow.id))), other

    def test_1_commit_through_the_session(self):
        self.assertIs(self.db, lite)
        self.session.add_all([LiteRow(name="test"), LiteOtherRow(name="test")])
        self.session.commit()
        self.assertEqual(self.client.post("/lite").status_code, 200)
        self.assertEqual(self.counts(), (2, 2))
        self.assertSeenNotCommitted(2, self.session.execute(sa.text(LEAKS)).scalar())

    def test_2_nothing_leaked(self):
        self.assertEqual(self.counts(), (0, 0))

    def test_3_commit_through_the_named_engine(self):
        self.assertEqual(self.client.post("/lite/other-engine").status_code, 200)
        with self.app.app_context():
            with lite.get_engine("other").begin() as conn:
                conn.execute(sa.insert(LiteOtherRow).values(name="test"))
        self.assertEqual(self.counts(), (0, 2))
        self.assertEqual(real_leaks(other_database()), 0)

    def test_4_the_named_engine_has_its_own_test_database(self):
        with self.app.app_context():
            self.assertEqual(lite.get_engine("other").url.database, other_database())
            self.assertEqual(lite.engine.url.database, current_database_url().database)


class PlainTests(KindCase):
    """A plain SQLAlchemy app's engine, and one it makes at request time, are pinned."""

    app_factory = create_plain_app
    metadata = PlainBase.metadata
    database_url_key = "KIND_URL"

    def count(self):
        return self.session.scalar(sa.select(sa.func.count(PlainRow.id)))

    def test_1_commit_through_the_apps_session(self):
        self.assertIsNone(self.db)
        self.assertIs(self.session, Session)
        Session.add(PlainRow(name="test"))
        Session.commit()
        self.assertEqual(self.client.post("/plain").status_code, 200)
        self.assertSeenNotCommitted(2, self.count())

    def test_2_nothing_leaked(self):
        self.assertEqual(self.count(), 0)

    def test_3_engine_made_at_request_time(self):
        Session.add(PlainRow(name="flushed by the test"))
        Session.flush()
        self.assertEqual(self.client.post("/plain/request-engine").status_code, 200)
        self.assertSeenNotCommitted(2, self.count())

    def test_4_the_config_carries_the_test_database(self):
        self.assertEqual(
            sa.make_url(self.app.config["KIND_URL"]).database, current_database_url().database
        )


class LaterClassTests(KindCase):
    """A later class (whatever the order, one of them runs after the writes): nothing leaked."""

    app_factory = create_fsa_app

    def test_nothing_anywhere(self):
        self.assertEqual(real_leaks(), 0)
