"""Apps on Flask-SQLAlchemy-Lite and plain SQLAlchemy, and more than one engine (issue 28).

The pair tests are in tests/kinds/suite_kinds.py: they run here, and in
subprocesses under the runner, reversed, shuffled and with ``--parallel 2``.
Here too: what reaches each kind of app (the config mapping), and the
refusals, each one paragraph: a Lite app without its metadata, a plain app
whose session cannot be found or that ignores the test URL, async engines.
"""

from __future__ import annotations

import contextlib
import io
import unittest

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase, FlaskDBTransactionTestCase, tag
from flask_dbtestcase.cases.testapp import build_config
from tests.kinds.apps import LITE_METADATA, NO_LITE, PlainBase, create_lite_app, create_plain_app
from tests.kinds.suite_kinds import (  # noqa: F401  (run here too)
    LaterClassTests,
    LiteTests,
    PlainTests,
    SecondFlaskSQLAlchemyTests,
)
from tests.support import RunnerOrders

LABEL = "tests.kinds.suite_kinds"


@tag("slow")
class KindModesTests(RunnerOrders, unittest.TestCase):
    """The pair suite passes however it is run (each run its own process)."""

    label = LABEL


def run_classes(*classes):
    """Run test classes in this process; their result."""
    loader = unittest.TestLoader()
    suite = unittest.TestSuite([loader.loadTestsFromTestCase(cls) for cls in classes])
    result = unittest.TestResult()
    suite.run(result)
    return result


class ConfigMappingTests(unittest.TestCase):
    def test_the_test_url_under_every_key_an_app_reads(self):
        url = sa.make_url("postgresql+psycopg2://postgres@/test_db?host=/tmp")
        config = build_config(url, None, {"EXTRA": 1}, "DATABASE_URL")
        rendered = url.render_as_string(hide_password=False)
        self.assertEqual(config["SQLALCHEMY_DATABASE_URI"], rendered)
        self.assertEqual(config["SQLALCHEMY_ENGINES"], {"default": rendered})
        self.assertEqual(config["DATABASE_URL"], rendered)
        self.assertEqual((config["TESTING"], config["EXTRA"]), (True, 1))

    def test_no_database_url_key_adds_no_key(self):
        url = sa.make_url("postgresql+psycopg2://postgres@/test_db?host=/tmp")
        self.assertEqual(
            sorted(build_config(url, None, {})),
            ["SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_ENGINES", "TESTING"],
        )


def error_of(cls) -> str:
    """The class-level error a class's run reports (its set-up's)."""
    result = run_classes(cls)
    errors = [text for _, text in result.errors]
    assert errors, "the class ran without an error"
    return errors[0]


class RefusalTests(unittest.TestCase):
    @unittest.skipIf(NO_LITE, NO_LITE)
    def test_a_lite_app_without_metadata(self):
        class NoMetadata(FlaskDBTestCase):
            app_factory = create_lite_app
            own_app = True

            def test_x(self):
                pass

        message = error_of(NoMetadata)
        self.assertIn("does not know the tables", message)
        self.assertIn('metadata = "myapp.models:Base.metadata"', message)

    def test_a_plain_app_whose_session_is_not_found(self):
        def factory(config):
            app = create_plain_app(config)
            del app.extensions["session"]
            return app

        class NoSession(FlaskDBTestCase):
            app_factory = staticmethod(factory)
            metadata = PlainBase.metadata
            database_url_key = "KIND_URL"

            def test_x(self):
                pass

        message = error_of(NoSession)
        self.assertIn("cannot find its session", message)
        self.assertIn('session = "myapp.db:Session"', message)

    def test_a_plain_app_that_ignores_the_test_url(self):
        def factory(config):
            app = create_plain_app(config)
            app.config["KIND_URL"] = "postgresql://postgres@127.0.0.1:5432/production"
            return app

        class Ignores(FlaskDBTestCase):
            app_factory = staticmethod(factory)
            metadata = PlainBase.metadata
            database_url_key = "KIND_URL"

            def test_x(self):
                pass

        message = error_of(Ignores)
        self.assertIn("ignored the test configuration: its config has KIND_URL", message)
        self.assertIn("Nothing was run against it", message)

    @unittest.skipIf(NO_LITE, NO_LITE)
    def test_an_unknown_engine_name_in_metadata(self):
        class Unknown(FlaskDBTestCase):
            app_factory = create_lite_app
            metadata = {"default": PlainBase.metadata, "nope": PlainBase.metadata}
            own_app = True

            def test_x(self):
                pass

        self.assertIn("names the engine 'nope'", error_of(Unknown))


@unittest.skipIf(NO_LITE, NO_LITE)
class WatchTests(unittest.TestCase):
    """The write watch covers the tables of a Lite app too: a raw write is named."""

    def test_a_raw_write_past_the_shared_connection_is_named(self):
        from flask_dbtestcase.cases.testdb import current_database_url
        from tests.support import run_sql

        class RawWrite(FlaskDBTestCase):
            app_factory = create_lite_app
            metadata = LITE_METADATA

            def test_writes_elsewhere(self):
                self.session.execute(sa.text("SELECT 1"))  # the test sent a statement
                run_sql(current_database_url(), "INSERT INTO kind_lite (name) VALUES ('raw')")

        with contextlib.redirect_stderr(io.StringIO()) as stderr:
            result = run_classes(RawWrite)
        self.assertEqual(len(result.errors), 1, result.errors)
        self.assertIn("really committed: INSERT into kind_lite", result.errors[0][1])
        self.assertIn("got past the test transaction", stderr.getvalue())
        self.assertEqual(run_sql(current_database_url(), "SELECT count(*) FROM kind_lite"), [(0,)])


def async_factory(config):
    """The Lite app with an async engine too (psycopg 3's async driver)."""
    config = dict(config)
    config["SQLALCHEMY_ASYNC_ENGINES"] = {
        "default": "postgresql+psycopg_async://postgres@127.0.0.1:5432/kindapp"
    }
    return create_lite_app(config)


@unittest.skipIf(NO_LITE, NO_LITE)
class AsyncEngineTests(unittest.TestCase):
    """Async engines: refused in FlaskDBTestCase, one paragraph; real commits work."""

    def test_refused_in_a_test_case_that_rolls_back(self):
        class Async(FlaskDBTestCase):
            app_factory = staticmethod(async_factory)
            metadata = LITE_METADATA

            def test_x(self):
                pass

        message = error_of(Async)
        self.assertIn("its async engine 'default'", message)
        self.assertIn("FlaskDBTestCase cannot isolate", message)
        self.assertIn("FlaskDBTransactionTestCase", message)

    def test_pointed_at_the_test_database_in_a_transaction_test_case(self):
        seen = []

        class AsyncCommits(FlaskDBTransactionTestCase):
            app_factory = staticmethod(async_factory)
            metadata = LITE_METADATA

            def test_url(self):
                from tests.kinds.apps import lite

                with self.app.app_context():
                    seen.append(lite.async_engine.url)
                    seen.append(lite.engine.url)

        result = run_classes(AsyncCommits)
        self.assertEqual((result.errors, result.failures), ([], []))
        async_url, sync_url = seen
        self.assertEqual(async_url.drivername, "postgresql+psycopg_async")
        self.assertEqual(async_url.database, sync_url.database)
        self.assertEqual(async_url.query, sync_url.query)
