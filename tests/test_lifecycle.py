"""Class lifecycle: what setUpClass builds is released, even when it fails half-way."""

from __future__ import annotations

import gc
import unittest
import warnings
import weakref

from flask_dbtestcase import FlaskDBTestCase
from tests.sampleapp import create_app, db


def run_classes(*classes: type) -> unittest.TestResult:
    suite = unittest.TestSuite(unittest.defaultTestLoader.loadTestsFromTestCase(c) for c in classes)
    result = unittest.TestResult()
    suite.run(result)
    return result


class LifecycleTests(unittest.TestCase):
    """Runs small FlaskDBTestCase classes in-process (this class itself holds no transaction)."""

    def test_classes_of_one_factory_share_one_app(self):
        built = []

        def factory(config):
            built.append(create_app(config))
            return built[-1]

        def test_request(self):
            self.assertIs(self.app, built[0])
            self.assertEqual(self.client.get("/items").status_code, 200)

        classes = [
            type(
                f"Shared{i}",
                (FlaskDBTestCase,),
                {"app_factory": staticmethod(factory), "test_request": test_request},
            )
            for i in range(5)
        ]
        result = run_classes(*classes)
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)
        self.assertEqual(len(built), 1, "the factory was called for more than one class")
        for cls in classes:
            self.assertNotIn("app", cls.__dict__)

    def test_a_class_config_asks_for_an_app_of_its_own(self):
        built = []

        def factory(config):
            built.append(create_app(config))
            return built[-1]

        def make(name, config):
            return type(
                name,
                (FlaskDBTestCase,),
                {
                    "app_factory": staticmethod(factory),
                    "config": config,
                    "test_config": lambda self: self.assertEqual(
                        self.app.config["GREETING"], config["GREETING"]
                    ),
                },
            )

        result = run_classes(
            make("Hello", {"GREETING": "hello"}),
            make("Bonjour", {"GREETING": "bonjour"}),
            make("HelloAgain", {"GREETING": "hello"}),
        )
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)
        self.assertEqual(len(built), 2)

    def test_own_app_classes_release_their_apps(self):
        apps = weakref.WeakSet()

        def factory(config):
            app = create_app(config)
            apps.add(app)
            return app

        classes = [
            type(
                f"Own{i}",
                (FlaskDBTestCase,),
                {
                    "app_factory": staticmethod(factory),
                    "own_app": True,
                    "test_request": lambda self: self.assertEqual(
                        self.client.get("/items").status_code, 200
                    ),
                },
            )
            for i in range(5)
        ]
        result = run_classes(*classes)
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)
        gc.collect()
        self.assertEqual(len(apps), 0, "finished own_app classes keep their Flask apps alive")

    def test_a_db_set_on_the_class_is_kept(self):
        class OwnDb(FlaskDBTestCase):
            app_factory = create_app

            def test_x(self):
                self.assertIs(self.db, db)

        OwnDb.db = db
        result = run_classes(OwnDb)
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)
        self.assertIs(OwnDb.__dict__["db"], db)

    def test_failing_set_up_test_data_cleans_up(self):
        class Broken(FlaskDBTestCase):
            app_factory = create_app

            @classmethod
            def setUpTestData(cls):
                raise RuntimeError("broken class data")

            def test_never_runs(self):
                self.fail("must not run")

        class After(FlaskDBTestCase):
            app_factory = create_app

            def test_runs_isolated(self):
                from tests.sampleapp import Item

                self.assertRowCount(Item, 0)

        result = run_classes(Broken, After)
        self.assertEqual(len(result.errors), 1, result.errors)
        self.assertIn("broken class data", result.errors[0][1])
        self.assertEqual(result.failures, [])
        self.assertEqual(result.testsRun, 1)  # After's test; Broken's never ran


class HookMistakeTests(unittest.TestCase):
    def test_a_set_up_class_without_super_is_named(self):
        class NoSuper(FlaskDBTestCase):
            app_factory = create_app

            @classmethod
            def setUpClass(cls):
                cls.ready = True  # forgot super().setUpClass()

            def test_x(self):
                self.fail("must not run")

        result = run_classes(NoSuper)
        self.assertEqual(len(result.errors), 1, result.errors)
        message = result.errors[0][1]
        self.assertIn("does not call super().setUpClass()", message)
        self.assertIn("NoSuper.setUpClass", message)
        self.assertNotIn("_connections", message)


class UnappliedOptionTests(unittest.TestCase):
    """Engine options one shared transaction cannot apply: one warning per engine."""

    def run_with(self, engine_options):
        def factory(config):
            return create_app({**config, "SQLALCHEMY_ENGINE_OPTIONS": engine_options})

        def make(name):
            return type(
                name,
                (FlaskDBTestCase,),
                {"app_factory": staticmethod(factory), "test_x": lambda self: None},
            )

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = run_classes(make("First"), make("Second"))
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)
        return [str(w.message) for w in caught if "cannot apply" in str(w.message)]

    def test_serializable_is_named_once_per_engine(self):
        messages = self.run_with({"isolation_level": "SERIALIZABLE"})
        # SQLALCHEMY_ENGINE_OPTIONS is the default engine's: once for both classes.
        self.assertEqual(len(messages), 1, messages)
        self.assertIn("the engine of its database", messages[0])
        self.assertIn("isolation_level='SERIALIZABLE'", messages[0])
        self.assertIn("FlaskDBTransactionTestCase", messages[0])

    def test_read_only_is_named(self):
        messages = self.run_with({"execution_options": {"postgresql_readonly": True}})
        self.assertEqual(len(messages), 1, messages)
        self.assertIn("postgresql_readonly=True", messages[0])

    def test_read_committed_and_autocommit_say_nothing(self):
        self.assertEqual(self.run_with({"isolation_level": "READ COMMITTED"}), [])
        self.assertEqual(self.run_with({}), [])


class SettledSettingsTests(unittest.TestCase):
    """A run's settings are read once, at its edge: the classes read the run's, not the
    environment afresh."""

    def test_the_run_keeps_the_settings_it_was_opened_with(self):
        from flask_dbtestcase.cases.testdb import ensure_run
        from tests.support import set_env

        run = ensure_run()
        other = "psycopg" if run.settings.driver == "psycopg2" else "psycopg2"
        set_env(self, FLASK_DBTESTCASE_DRIVER=other, FLASK_DBTESTCASE_LOCK_TIMEOUT="1s")
        self.assertIs(ensure_run(), run)
        self.assertIs(ensure_run().settings, run.settings)
        self.assertNotEqual(ensure_run().settings.driver, other)
