"""Isolation: every way the app can write must be rolled back after each test.

Every test in these classes starts by checking that it sees exactly the
class's data (setUp below), so any leak from any other test — in whatever
order the runner picks — fails the next test. Where what is rolled back can
only be seen by the test after (DDL, a lost connection), a pair of tests is
run in a fixed order inside one test (``run_in_order``).
"""

from __future__ import annotations

import unittest

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from flask_dbtestcase import FlaskDBTestCase
from flask_dbtestcase.cases.testdb import current_database_url
from tests.sampleapp import AppSession, Audit, Item, Note, create_app, db
from tests.support import run_sql


class IsolatedCase(FlaskDBTestCase):
    app_factory = create_app

    @classmethod
    def setUpTestData(cls):
        cls.alice = Item(name="alice")
        cls.items = [cls.alice, Item(name="bob")]
        db.session.add_all(cls.items)
        db.session.add(Audit(event="class data"))
        db.session.commit()

    def setUp(self):
        self.assertCleanStart()

    def assertCleanStart(self):
        names = self.session.scalars(sa.select(Item.name).order_by(Item.name)).all()
        self.assertEqual(names, ["alice", "bob"], "a previous test leaked rows into item")
        self.assertRowCount(Note, 0)
        self.assertRowCount(Audit, 1)
        exists = self.session.execute(sa.text("SELECT to_regclass('made_in_a_test')")).scalar()
        self.assertIsNone(exists, "a table created by a previous test survived")


def run_in_order(case: unittest.TestCase, test_class: type, *names: str) -> None:
    """Run the tests ``names`` of ``test_class`` in that order (one class
    set-up for all of them, as the runner would); they must all pass."""
    suite = unittest.TestSuite(test_class(name) for name in names)
    result = unittest.TestResult()
    suite.run(result)
    case.assertEqual(result.testsRun, len(names))
    case.assertTrue(result.wasSuccessful(), result.errors + result.failures)


class SessionIsolationTests(IsolatedCase):
    def test_commit_in_test(self):
        db.session.add(Item(name="carol"))
        db.session.commit()
        self.assertRowCount(Item, 3)

    def test_rollback_in_test_keeps_class_data(self):
        db.session.add(Item(name="carol"))
        db.session.flush()
        db.session.rollback()
        self.assertRowCount(Item, 2)
        self.assertRowCount(Item, 1, name="alice")

    def test_integrity_error_then_more_work(self):
        db.session.add(Item(name="alice"))
        with self.assertRaises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.add(Item(name="dave"))
        db.session.commit()
        self.assertRowCount(Item, 3)
        self.assertRowCount(Item, 1, name="dave")

    def test_failed_raw_statement_then_more_work(self):
        with self.assertRaises(IntegrityError):
            db.session.execute(sa.text("INSERT INTO item (name) VALUES ('alice')"))
        db.session.rollback()
        db.session.execute(sa.text("INSERT INTO item (name) VALUES ('erin')"))
        db.session.commit()
        self.assertRowCount(Item, 3)

    def test_nested_transactions(self):
        db.session.add(Item(name="outer"))
        with db.session.begin_nested():
            db.session.add(Item(name="kept"))
        nested = db.session.begin_nested()
        db.session.add(Item(name="dropped"))
        db.session.flush()
        nested.rollback()
        db.session.commit()
        names = set(db.session.scalars(sa.select(Item.name)))
        self.assertEqual(names, {"alice", "bob", "outer", "kept"})

    def test_raw_sql_commit_through_session(self):
        db.session.execute(sa.text("UPDATE item SET name = 'renamed' WHERE name = 'alice'"))
        db.session.commit()
        self.assertRowCount(Item, 1, name="renamed")

    def test_delete_everything(self):
        db.session.execute(sa.delete(Note))
        db.session.execute(sa.delete(Item))
        db.session.execute(sa.delete(Audit))
        db.session.commit()
        self.assertRowCount(Item, 0)
        self.assertRowCount(Audit, 0)

    def test_sequences_move_on_without_collisions(self):
        first = Item(name="seq-1")
        db.session.add(first)
        db.session.commit()
        second = Item(name="seq-2")
        db.session.add(second)
        db.session.commit()
        self.assertGreater(second.id, first.id)
        self.assertGreater(first.id, max(i.id for i in self.items))

    def test_model_query_and_bind(self):
        self.assertEqual(Item.query.filter_by(name="bob").count(), 1)
        db.session.add(Audit(event="in a test"))
        db.session.commit()
        self.assertRowCount(Audit, 2)

    def test_bind_is_its_own_test_database(self):
        main = db.engines[None].url.database
        audit = db.engines["audit"].url.database
        self.assertNotEqual(main, audit)
        self.assertTrue(audit.startswith("test_"), audit)
        self.assertEqual(str(db.engines[None].url), str(current_database_url()))


def item_columns() -> list[str]:
    return (
        db.session.execute(
            sa.text("SELECT column_name FROM information_schema.columns WHERE table_name = 'item'")
        )
        .scalars()
        .all()
    )


class DDLTests(unittest.TestCase):
    """DDL a test commits is rolled back: the next test has neither the table
    nor the column (its setUp checks the table, it checks the column)."""

    def test_ddl_is_rolled_back_for_the_next_test(self):
        class DDL(IsolatedCase):
            def test_1_commits_ddl(self):
                db.session.execute(sa.text("CREATE TABLE made_in_a_test (id int)"))
                db.session.execute(sa.text("ALTER TABLE item ADD COLUMN extra int"))
                db.session.commit()
                made = db.session.execute(sa.text("SELECT to_regclass('made_in_a_test')")).scalar()
                self.assertIsNotNone(made)
                self.assertIn("extra", item_columns())

            def test_2_next_test(self):
                self.assertNotIn("extra", item_columns())  # made_in_a_test: setUp

        run_in_order(self, DDL, "test_1_commits_ddl", "test_2_next_test")


class TestDataTests(IsolatedCase):
    def test_attributes_loaded_and_attached(self):
        self.assertEqual(self.alice.name, "alice")
        self.assertIn(self.alice, db.session)
        self.assertIs(self.items[0], self.alice)

    def test_changing_test_data_in_one_test(self):
        self.alice.name = "changed"
        db.session.commit()
        self.assertRowCount(Item, 1, name="changed")

    def test_other_test_sees_original(self):
        self.assertEqual(self.alice.name, "alice")
        self.assertEqual(type(self).__dict__["alice"].value.name, "alice")

    def test_related_rows_lazy_load_from_test_session(self):
        db.session.add(Note(item_id=self.alice.id, text="hi"))
        db.session.commit()
        self.assertEqual(db.session.get(Item, self.alice.id).name, "alice")


class CoreConnectionTests(IsolatedCase):
    def test_engine_begin_commits_into_the_test(self):
        with db.engine.begin() as conn:
            conn.execute(sa.insert(Item).values(name="core"))
        self.assertRowCount(Item, 3)

    def test_engine_connect_commit(self):
        with db.engine.connect() as conn:
            conn.execute(sa.insert(Item).values(name="core-commit"))
            conn.commit()
        self.assertRowCount(Item, 1, name="core-commit")

    def test_engine_connect_without_commit_rolls_back(self):
        with db.engine.connect() as conn:
            conn.execute(sa.insert(Item).values(name="uncommitted"))
        self.assertRowCount(Item, 0, name="uncommitted")

    def test_connection_rollback(self):
        with db.engine.connect() as conn:
            conn.execute(sa.insert(Item).values(name="rolled-back"))
            conn.rollback()
            conn.execute(sa.insert(Item).values(name="after"))
            conn.commit()
        self.assertRowCount(Item, 0, name="rolled-back")
        self.assertRowCount(Item, 1, name="after")

    def test_autocommit_connection_is_still_isolated(self):
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.insert(Item).values(name="autocommit"))
        self.assertRowCount(Item, 1, name="autocommit")

    def test_engine_is_a_real_engine(self):
        self.assertIsInstance(db.engine, sa.Engine)
        self.assertTrue(db.engine.url.database.startswith("test_"))
        db.engine.dispose()  # must not drop the test's connection
        self.assertRowCount(Item, 2)

    def test_raw_dbapi_connection(self):
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("INSERT INTO item (name) VALUES ('raw')")
            raw.commit()
        finally:
            raw.close()
        self.assertRowCount(Item, 1, name="raw")


class RequestTests(IsolatedCase):
    def test_request_commit_is_visible_then_rolled_back(self):
        resp = self.client.post("/items", json={"name": "web"})
        self.assertEqual(resp.status_code, 201)
        self.assertRowCount(Item, 3)
        self.assertRowCount(Audit, 2)

    def test_request_has_its_own_session(self):
        db.session.add(Item(name="pending"))  # added, not flushed
        names = self.client.get("/items").json["names"]
        self.assertNotIn("pending", names)
        db.session.flush()
        names = self.client.get("/items").json["names"]
        self.assertIn("pending", names)

    def test_session_options_are_kept(self):
        self.assertIsInstance(db.session(), AppSession)
        self.assertFalse(db.session().expire_on_commit)
        self.assertEqual(self.client.get("/items").json["session_class"], "AppSession")

    def test_begin_route_after_the_test_used_its_session(self):
        self.assertRowCount(Item, 2)  # the test's session has begun a transaction
        resp = self.client.post("/items/begin", json={"name": "begun"})
        self.assertEqual(resp.status_code, 201)
        resp = self.client.post("/items/begin", json={"name": "begun-again"})
        self.assertEqual(resp.status_code, 201)
        self.assertRowCount(Item, 4)

    def test_integrity_error_handled_in_request(self):
        resp = self.client.post("/items/unique", json={"name": "alice"})
        self.assertEqual(resp.json, {"renamed": True})
        self.assertRowCount(Item, 1, name="alice-2")
        resp = self.client.post("/items/unique", json={"name": "frank"})
        self.assertEqual(resp.json, {"renamed": False})

    def test_failed_request_is_rolled_back(self):
        resp = self.client.post("/items/fail", json={"name": "ghost"})
        self.assertEqual(resp.status_code, 500)
        self.assertRowCount(Item, 0, name="ghost")
        resp = self.client.post("/items", json={"name": "after-failure"})
        self.assertEqual(resp.status_code, 201)

    def test_core_route(self):
        self.assertEqual(self.client.post("/items/core", json={"name": "corerow"}).status_code, 201)
        self.assertRowCount(Item, 1, name="corerow")

    def test_preserved_context_client(self):
        with self.client as client:
            client.post("/items", json={"name": "kept-context"})
            self.assertEqual(Item.query.filter_by(name="kept-context").count(), 1)
        self.assertRowCount(Item, 3)

    def test_cli_command(self):
        result = self.app.test_cli_runner().invoke(args=["add-item", "from-cli"])
        self.assertEqual(result.exit_code, 0, result.output)
        self.assertIn("added from-cli", result.output)
        self.assertRowCount(Item, 1, name="from-cli")


class QueryAssertionTests(IsolatedCase):
    def test_assert_num_queries_counts_requests(self):
        with self.assertNumQueries(1):
            self.client.get("/items")

    def test_assert_num_queries_failure_lists_statements(self):
        with self.assertRaises(AssertionError) as caught:
            with self.assertNumQueries(5):
                self.session.execute(sa.text("SELECT 1"))
        message = str(caught.exception)
        self.assertIn("1 queries executed, 5 expected", message)
        self.assertIn("1. SELECT 1", message)

    def test_plumbing_is_not_counted(self):
        with self.assertNumQueries(2):
            db.session.add(Item(name="counted"))
            db.session.commit()  # INSERT
            db.session.execute(sa.select(Item)).all()  # SELECT

    def test_capture_queries(self):
        with self.captureQueries() as queries:
            self.client.post("/items", json={"name": "captured"})
        statements = [q.statement for q in queries]
        self.assertTrue(any(s.startswith("INSERT INTO item") for s in statements), statements)
        self.assertTrue(any(s.startswith("INSERT INTO audit") for s in statements), statements)

    def test_assert_row_count_failure(self):
        with self.assertRaises(AssertionError) as caught:
            self.assertRowCount(Item, 7)
        self.assertIn("Item has 2 rows, expected 7", str(caught.exception))


class NothingPersistsTests(IsolatedCase):
    """What the other classes did is invisible to a separate, real connection."""

    def test_other_connection_sees_no_rows(self):
        rows = run_sql(current_database_url(), "SELECT count(*) FROM item")
        self.assertEqual(rows[0][0], 0)


class LostConnection(IsolatedCase):
    """Not collected (no test methods of its own): run by LostConnectionTests."""

    def kill_own_backend(self):
        db.session.add(Item(name="before-kill"))
        db.session.flush()
        with self.assertRaises(sa.exc.OperationalError):
            db.session.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))
        db.session.rollback()
        db.session.add(Item(name="after-kill"))  # goes to a fresh connection
        db.session.commit()
        self.assertRowCount(Item, 1, name="after-kill")
        self.assertRowCount(Item, 0, name="before-kill")  # it died with its connection

    def invalidate_connection(self):
        with db.engine.connect() as conn:
            conn.execute(sa.insert(Item).values(name="invalidated"))
            conn.invalidate()
        self.assertRowCount(Item, 0, name="invalidated")  # discarded with the connection
        db.session.add(Item(name="after-invalidate"))
        db.session.commit()
        self.assertRowCount(Item, 1, name="after-invalidate")
        self.assertRowCount(Item, 3)  # the class's two and this one

    def class_data_still_there(self):
        # setUp checked the rows; the class's objects and requests still work.
        self.assertEqual(self.alice.name, "alice")
        self.client.post("/items", json={"name": "still-works"})
        self.assertRowCount(Item, 3)


class LostConnectionTests(unittest.TestCase):
    """A test that kills or closes its connection: the next test still runs isolated."""

    def pair(self, lose: str) -> None:
        test_class = type(
            "Lost",
            (LostConnection,),
            {
                "test_1_loses_it": getattr(LostConnection, lose),
                "test_2_next_test": LostConnection.class_data_still_there,
            },
        )
        run_in_order(self, test_class, "test_1_loses_it", "test_2_next_test")

    def test_kill_own_backend(self):
        self.pair("kill_own_backend")

    def test_invalidate_connection(self):
        self.pair("invalidate_connection")


def shared_connection():
    """The run's shared connection to the test database (the class pins it)."""
    from flask_dbtestcase.cases.appcache import pins_of
    from flask_dbtestcase.cases.testdb import ensure_run

    run = ensure_run()
    return pins_of(run.databases).connection(run.databases.url)


class RoundTripTests(IsolatedCase):
    """The plumbing's cost: an empty test sends nothing, savepoints ride along."""

    def setUp(self):
        pass  # no clean-start check: it would send statements

    def test_empty_test_sends_nothing(self):
        from flask_dbtestcase.isolation.engines import PinnedConnection

        conn = shared_connection()
        self.assertIsInstance(conn, PinnedConnection)
        self.assertFalse(conn.savepoints.used, "something ran SQL in an empty test")

    def test_savepoint_travels_with_the_first_statement(self):
        conn = shared_connection()
        sent = []
        original = conn.savepoints.take_plumbing

        def spy(*args, **kwargs):
            statements = original(*args, **kwargs)
            sent.append(statements)
            return statements

        conn.savepoints.take_plumbing = spy
        try:
            self.assertRowCount(Item, 2)
            db.session.add(Item(name="x"))
            db.session.commit()
        finally:
            del conn.savepoints.take_plumbing
        # The test's (if new) and the session's savepoints, with the COUNT; when
        # this is the class's first test, also the RELEASE of setUpTestData's.
        self.assertTrue(any(s.startswith("SAVEPOINT") for s in sent[0]), sent)
        self.assertTrue(all(s.startswith(("SAVEPOINT", "RELEASE")) for s in sent[0]), sent)
        self.assertEqual(len(sent), 2)  # the COUNT and the INSERT: no separate plumbing trips


class DatabasesAttributeTests(FlaskDBTestCase):
    """``databases`` limits a class to some of the app's databases, as in Django."""

    app_factory = create_app
    databases = {"default"}

    def test_listed_database_works(self):
        db.session.add(Item(name="main only"))
        db.session.commit()
        self.assertRowCount(Item, 1)

    def test_unlisted_bind_refuses(self):
        from flask_dbtestcase import IsolationError

        with self.assertRaises(IsolationError) as caught:
            db.session.execute(sa.select(Audit)).all()
        self.assertIn("Add 'audit' to DatabasesAttributeTests.databases", str(caught.exception))

    def test_unknown_name_is_a_clear_error(self):
        from flask_dbtestcase import ConfigurationError
        from flask_dbtestcase.cases.testapp import limit_to_databases

        with self.assertRaises(ConfigurationError) as caught:
            limit_to_databases(dict(db.engines), {"default", "nope"}, "Wrong")
        self.assertIn("'nope'", str(caught.exception))
        self.assertIn("'audit'", str(caught.exception))


class InterleavedTransactionTests(IsolatedCase):
    """Transactions that don't nest the way one connection's savepoints do."""

    def test_outer_commits_while_inner_is_open(self):
        db.session.close()  # setUp's queries began a transaction; end it
        outer = db.engine.connect()
        outer.execute(sa.insert(Item).values(name="outer"))
        db.session.add(Item(name="inner"))
        db.session.flush()  # the session's savepoint sits above outer's
        outer.commit()  # not the newest savepoint: kept until the inner one ends
        db.session.rollback()  # undoes the session's work only
        outer.close()
        names = set(db.session.scalars(sa.select(Item.name)))
        self.assertEqual(names, {"alice", "bob", "outer"})

    def test_documented_limit_older_session_rollback_undoes_newer_commit(self):
        # The session's transaction (begun in setUp) is older than the
        # connection's: on one connection its rollback undoes the newer commit.
        outer = db.engine.connect()
        outer.execute(sa.insert(Item).values(name="outer"))
        outer.commit()
        outer.close()
        db.session.rollback()
        self.assertRowCount(Item, 0, name="outer")

    def test_outer_rolls_back_while_inner_is_open(self):
        db.session.close()
        outer = db.engine.connect()
        outer.execute(sa.insert(Item).values(name="outer"))
        db.session.add(Item(name="inner"))
        db.session.flush()
        outer.rollback()  # on one connection this also undoes the inner work
        db.session.commit()  # its savepoint is gone: nothing to release, no error
        outer.close()
        self.assertRowCount(Item, 0, name="outer")

    def test_unused_connections_send_nothing(self):
        conn = shared_connection()
        with db.engine.connect() as a, db.engine.connect() as b:
            a.begin()
            b.begin()
            a.rollback()
        self.assertEqual(
            conn.savepoints.plumbing, [], "savepoints of unused transactions were queued"
        )
