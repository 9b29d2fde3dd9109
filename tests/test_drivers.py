"""Both drivers, psycopg (3) and psycopg2: the choice, its errors, and what differs.

The isolation suites run on the run's driver (``make drivers`` runs them
with ``FLASK_DBTESTCASE_DRIVER`` set to each). The classes here build their
app on a driver of their own whatever the run's, as an app that names its
driver in its URL does: each driver is exercised on every run, and so is an
app whose driver is not the run's.
"""

from __future__ import annotations

import sys
import textwrap
import unittest

import sqlalchemy as sa
from flask import Flask

from flask_dbtestcase import ConfigurationError, FlaskDBTestCase, tag
from flask_dbtestcase.cases.testapp import check_engines
from flask_dbtestcase.cases.testdb import current_database_url
from flask_dbtestcase.databases.drivers import (
    DRIVERS,
    choose_driver,
    sqlalchemy_default_driver,
)
from flask_dbtestcase.errors import UnsafeDatabaseError
from flask_dbtestcase.settings import DRIVER_ENV, Settings
from tests.sampleapp import Item, create_app, db
from tests.support import Project, app_source, scratch_dir
from tests.test_isolation import run_in_order

# -- the choice ---------------------------------------------------------------


class ChoiceTests(unittest.TestCase):
    def test_default_is_what_sqlalchemy_uses_for_plain_urls(self):
        choice = choose_driver(None)
        self.assertEqual(choice.name, sqlalchemy_default_driver())
        self.assertIn(f"SQLAlchemy {sa.__version__} uses it for postgresql:// URLs", choice.reason)

    def test_asked_for(self):
        for name in DRIVERS:
            choice = choose_driver(name)
            self.assertEqual(choice.name, name)
            self.assertIn(DRIVER_ENV, choice.reason)
            line = choice.describe()
            self.assertTrue(line.startswith(f"PostgreSQL driver: {name} "), line)
            self.assertNotIn("\n", line)

    def test_unknown_name(self):
        with self.assertRaises(ConfigurationError) as caught:
            choose_driver("psycopg3")
        message = str(caught.exception)
        self.assertIn("'psycopg3'", message)
        self.assertIn("use 'psycopg' (psycopg 3) or 'psycopg2'", message)

    def test_setting_from_pyproject_and_environment(self):
        directory = scratch_dir("fdt-driver-")
        self.addCleanup(__import__("shutil").rmtree, directory, True)
        with open(f"{directory}/pyproject.toml", "w") as f:
            f.write('[tool.flask-dbtestcase]\ndriver = "psycopg2"\n')
        self.assertEqual(Settings.load({}, start=directory).driver, "psycopg2")
        env = {DRIVER_ENV: "psycopg"}
        self.assertEqual(Settings.load(env, start=directory).driver, "psycopg")
        self.assertIsNone(Settings.load({}, start="/").driver)


# -- what a run says, and its errors without a driver ----------------------------

_TEST = """
from flask_dbtestcase import FlaskDBTestCase
from myapp import Thing, create_app, db

class T(FlaskDBTestCase):
    app_factory = create_app

    def test_write(self):
        db.session.add(Thing(name="x"))
        db.session.commit()
        self.assertRowCount(Thing, 1)
"""

# A Python whose imports of the named modules fail, as when they are not
# installed; then the runner, as `python -m flask_dbtestcase` runs it.
_WITHOUT = textwrap.dedent(
    """
    import runpy, sys
    for name in sys.argv.pop(1).split(","):
        sys.modules[name] = None
    sys.argv[0] = "flask_dbtestcase"
    runpy.run_module("flask_dbtestcase", run_name="__main__", alter_sys=True)
    """
)


class RunTests(unittest.TestCase):
    def project(self) -> Project:
        return Project(self, {"myapp.py": app_source("things"), "test_things.py": _TEST})

    def run_without(self, missing: str, env: dict | None = None):
        command = [sys.executable, "-c", _WITHOUT, missing]
        return self.project().run(["-v", "2"], command=command, env=env)

    @tag("slow")
    def test_header_names_the_driver_and_why(self):
        for name in DRIVERS:
            with self.subTest(name):
                result = self.project().run(["-v", "2"], env={DRIVER_ENV: name})
                self.assertEqual(result.returncode, 0, result)
                header = [line for line in result.stderr.splitlines() if "driver" in line]
                self.assertEqual(len(header), 1, result.stderr)
                self.assertTrue(header[0].startswith(f"PostgreSQL driver: {name} "), header)
                self.assertIn(f"set by {DRIVER_ENV}", header[0])
                self.assertIn("1 passed, 0 failed", result.stderr)

    def test_default_falls_back_to_the_installed_driver(self):
        default = sqlalchemy_default_driver()
        other = next(name for name in DRIVERS if name != default)
        result = self.run_without(default, env={DRIVER_ENV: None})
        self.assertEqual(result.returncode, 0, result)
        self.assertIn(
            f"PostgreSQL driver: {other} ", result.stderr
        )  # and why: the default is missing
        self.assertIn(
            f"uses {default} for postgresql:// URLs, which is not installed", result.stderr
        )
        self.assertIn("1 passed, 0 failed", result.stderr)

    def test_asked_driver_missing_is_one_paragraph(self):
        for name, package in DRIVERS.items():
            with self.subTest(name):
                result = self.run_without(name, env={DRIVER_ENV: name})
                self.assertEqual(result.returncode, 2, result)
                self.assertNotIn("Traceback", result.stderr)
                error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
                self.assertEqual(len(error), 1, result.stderr)
                self.assertIn(f"asks for {name}", error[0])
                self.assertIn(f"pip install '{package}'", error[0])

    def test_no_driver_at_all_is_one_paragraph(self):
        result = self.run_without(",".join(DRIVERS), env={DRIVER_ENV: None})
        self.assertEqual(result.returncode, 2, result)
        self.assertNotIn("Traceback", result.stderr)
        self.assertIn("No PostgreSQL driver is installed", result.stderr)
        package = DRIVERS[sqlalchemy_default_driver()]
        self.assertIn(f"pip install '{package}'", result.stderr)


# -- the safety check compares databases, not drivers -----------------------------------


class EngineCheckTests(unittest.TestCase):
    def setUp(self):
        self.main = current_database_url()
        self.app = Flask("engine_check")

    def check(self, url: sa.URL) -> None:
        engine = sa.create_engine(url)
        self.addCleanup(engine.dispose)
        check_engines({None: engine}, self.main, "Owner", self.app)

    def test_any_supported_driver_on_the_test_database_is_accepted(self):
        for name in DRIVERS:
            self.check(self.main.set(drivername=f"postgresql+{name}"))

    def test_another_database_shows_two_different_urls(self):
        other = self.main.set(drivername="postgresql+psycopg", database="not_the_test_db")
        with self.assertRaises(UnsafeDatabaseError) as caught:
            self.check(other)
        message = str(caught.exception)
        self.assertIn("not_the_test_db", message)
        self.assertIn(f"/{self.main.database}", message)

    def test_unsupported_driver_is_named(self):
        with self.assertRaises(ConfigurationError) as caught:
            self.check(self.main.set(drivername="postgresql+pg8000"))
        message = str(caught.exception)
        self.assertIn("uses pg8000", message)
        self.assertIn("psycopg (postgresql+psycopg://) and psycopg2", message)


# -- each driver, whatever the run's ---------------------------------------------------


class _OnDriver:
    """The sample app on the driver ``driver``, as an app naming it in its URL
    (mixed into a FlaskDBTestCase: not collected on its own)."""

    driver: str
    own_app = True  # create_app depends on ``driver``: an app for each class

    @classmethod
    def create_app(cls, config):
        config = dict(config)
        scheme = f"postgresql+{cls.driver}"
        url = sa.make_url(config["SQLALCHEMY_DATABASE_URI"]).set(drivername=scheme)
        config["SQLALCHEMY_DATABASE_URI"] = url.render_as_string(hide_password=False)
        if config.get("SQLALCHEMY_BINDS"):
            config["SQLALCHEMY_BINDS"] = {
                key: sa.make_url(value).set(drivername=scheme).render_as_string(False)
                for key, value in config["SQLALCHEMY_BINDS"].items()
            }
        return create_app(config)

    @classmethod
    def setUpTestData(cls):
        db.session.add_all([Item(name="alice"), Item(name="bob")])
        db.session.commit()

    def setUp(self):
        self.assertEqual(db.engine.dialect.driver, self.driver)
        names = db.session.scalars(sa.select(Item.name).order_by(Item.name)).all()
        self.assertEqual(names, ["alice", "bob"], "a previous test leaked rows")

    # Each test below writes and commits: the next one's setUp proves it was undone.

    def test_statement_without_parameters_carries_the_plumbing(self):
        db.session.close()  # setUp's queries: the next statement is a new transaction's first
        result = db.session.execute(sa.text("UPDATE item SET name = name || '!'"))
        self.assertEqual(result.rowcount, 2)  # its own result, not the SAVEPOINT's
        self.assertEqual(db.session.execute(sa.text("SELECT 42")).scalar(), 42)
        db.session.commit()

    def test_statement_with_parameters_after_plumbing(self):
        db.session.close()
        db.session.execute(sa.insert(Item).values(name="carol"))
        db.session.commit()
        found = db.session.execute(sa.text("SELECT name FROM item WHERE name = :n"), {"n": "carol"})
        self.assertEqual(found.scalar(), "carol")

    def test_executemany_and_server_side_cursor_first(self):
        db.session.close()
        db.session.execute(sa.insert(Item), [{"name": f"many{i}"} for i in range(3)])
        db.session.commit()
        with db.engine.connect() as conn:
            rows = conn.execution_options(stream_results=True).execute(
                sa.select(Item.name).order_by(Item.name)
            )
            self.assertEqual(len(rows.all()), 5)

    def test_rollback_of_the_app_transaction(self):
        db.session.add(Item(name="gone"))
        db.session.flush()
        db.session.rollback()
        self.assertEqual(db.session.scalar(sa.select(sa.func.count()).select_from(Item)), 2)
        db.session.add(Item(name="kept until the test ends"))
        db.session.commit()


class Psycopg2Tests(_OnDriver, FlaskDBTestCase):
    driver = "psycopg2"

    def test_two_statements_with_parameters_run_as_psycopg2_runs_them(self):
        # psycopg2 interpolates on the client: one simple query, the last result.
        result = db.session.execute(sa.text("SELECT :a; SELECT :b"), {"a": 1, "b": 2})
        self.assertEqual(result.scalar(), 2)


class PsycopgTests(_OnDriver, FlaskDBTestCase):
    driver = "psycopg"

    def test_two_statements_with_parameters_fail_as_in_production(self):
        db.session.close()  # pending plumbing: the failure must still be psycopg's own
        with self.assertRaises(sa.exc.ProgrammingError) as caught:
            db.session.execute(sa.text("SELECT :a; SELECT :b"), {"a": 1, "b": 2})
        self.assertIn(
            "cannot insert multiple commands into a prepared statement", str(caught.exception)
        )
        db.session.rollback()
        db.session.add(Item(name="after the error"))
        db.session.commit()

    def test_statements_get_prepared_but_never_the_plumbing(self):
        for _ in range(8):  # past psycopg's prepare_threshold (5)
            self.assertEqual(db.session.execute(_BY_NAME, {"n": "alice"}).scalar_one(), "alice")
            db.session.commit()  # new savepoints, queued before the next statement
        statements = prepared_statements()
        self.assertTrue(any("FROM item" in s for s in statements), statements)
        plumbing = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN")
        self.assertFalse([s for s in statements if s.lstrip().upper().startswith(plumbing)])
        db.session.add(Item(name="prepared"))
        db.session.commit()

    def test_psycopg_transaction_block_on_the_raw_connection(self):
        raw = db.engine.raw_connection()
        try:
            driver_conn = raw.driver_connection
            with driver_conn.transaction():
                driver_conn.execute("INSERT INTO item (name) VALUES (%s)", ("raw",))
            count = driver_conn.execute("SELECT count(*) FROM item").fetchone()[0]
            self.assertEqual(count, 3)
        finally:
            raw.close()


class PreparedStatementTests(unittest.TestCase):
    """psycopg's server-side prepared statements outlive ROLLBACK TO: they must not leak."""

    def test_statement_prepared_after_ddl_does_not_break_the_next_test(self):
        class Pair(PsycopgTests):
            def test_1_alters_then_prepares(self):
                db.session.execute(sa.text("ALTER TABLE item ALTER COLUMN name TYPE text"))
                for _ in range(8):  # prepared, with a text result, by psycopg
                    db.session.execute(_BY_NAME, {"n": "alice"}).scalar_one()
                self.assertTrue(any("FROM item" in s for s in prepared_statements()))
                db.session.commit()

            def test_2_next_test(self):
                # The column is varchar again: a statement prepared in test 1
                # would fail ("cached plan must not change result type").
                self.assertFalse(prepared_statements(), "test 1's statements survived")
                for _ in range(8):
                    self.assertEqual(db.session.execute(_BY_NAME, {"n": "bob"}).scalar_one(), "bob")

        run_in_order(self, Pair, "test_1_alters_then_prepares", "test_2_next_test")

    def test_statements_prepared_before_the_test_are_kept(self):
        class Kept(PsycopgTests):
            @classmethod
            def setUpTestData(cls):
                super().setUpTestData()
                for _ in range(8):
                    db.session.execute(_BY_NAME, {"n": "alice"}).scalar_one()

            def test_1_uses_them(self):
                self.assertTrue(any("FROM item" in s for s in prepared_statements()))
                db.session.execute(_BY_NAME, {"n": "bob"}).scalar_one()

            def test_2_still_has_them(self):
                self.assertTrue(any("FROM item" in s for s in prepared_statements()))

        run_in_order(self, Kept, "test_1_uses_them", "test_2_still_has_them")


class PsycopgClientCursorTests(_OnDriver, FlaskDBTestCase):
    """psycopg binding on the client (``cursor_factory=ClientCursor``, as SQLAlchemy documents)."""

    driver = "psycopg"

    @classmethod
    def create_app(cls, config):
        import psycopg

        options = {"connect_args": {"cursor_factory": psycopg.ClientCursor}}
        return super().create_app(dict(config, SQLALCHEMY_ENGINE_OPTIONS=options))

    def test_two_statements_with_parameters_run_as_in_production(self):
        db.session.close()  # pending plumbing, prepended: the first result is still the app's
        result = db.session.execute(sa.text("SELECT :a; SELECT :b"), {"a": 1, "b": 2})
        self.assertEqual(result.scalar(), 1)  # psycopg shows the first result
        self.assertIsInstance(
            db.session.connection().connection.cursor(), __import__("psycopg").ClientCursor
        )


_BY_NAME = sa.select(Item.name).where(Item.name == sa.bindparam("n"))


def prepared_statements() -> list[str]:
    """The statements prepared on the test's connection (its session's view)."""
    return list(
        db.session.execute(sa.text("SELECT statement FROM pg_prepared_statements")).scalars()
    )


if __name__ == "__main__":
    unittest.main()
