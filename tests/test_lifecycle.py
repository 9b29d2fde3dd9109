"""Class lifecycle: what setUpClass builds is released, even when it fails half-way."""

from __future__ import annotations

import gc
import unittest
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

    def test_finished_classes_release_their_apps(self):
        apps = weakref.WeakSet()

        def factory(config):
            app = create_app(config)
            apps.add(app)
            return app

        classes = [
            type(
                f"Finished{i}",
                (FlaskDBTestCase,),
                {
                    "app_factory": staticmethod(factory),
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
        self.assertEqual(len(apps), 0, "finished test classes keep their Flask apps alive")
        for cls in classes:
            self.assertNotIn("app", cls.__dict__)

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
