"""A model whose module is imported after the tables were built (issue 26, item 11).

Its first query errors with one paragraph that names the model, its
module, why its table is missing and what to do, instead of the driver's
``relation "..." does not exist``. Other missing relations keep
PostgreSQL's own error.
"""

from __future__ import annotations

import unittest

import sqlalchemy as sa

from flask_dbtestcase import ConfigurationError, FlaskDBTestCase, tag
from tests.catalog.lateapp import Early, create_app, db
from tests.support import ROOT, Project

PARAGRAPH = (
    "The table 'fdt_late' does not exist in the test database",
    "its module tests.catalog.late_models was imported after flask-dbtestcase built",
    "create_all did not see the model tests.catalog.late_models.Late",
    "in the app factory or in the module that defines db",
)


class OtherMissingRelationTests(FlaskDBTestCase):
    """A relation that is no model's keeps PostgreSQL's error."""

    app_factory = create_app

    def test_unknown_relation(self):
        with self.assertRaises(sa.exc.ProgrammingError) as caught:
            db.session.execute(sa.text("SELECT * FROM fdt_no_such_table")).all()
        self.assertIn('relation "fdt_no_such_table" does not exist', str(caught.exception))
        db.session.rollback()
        self.assertRowCount(Early, 0)

    def test_built_model_dropped_keeps_postgres_error(self):
        db.session.execute(sa.text("DROP TABLE fdt_early"))
        with self.assertRaises(sa.exc.ProgrammingError) as caught:
            db.session.execute(sa.select(Early)).all()
        self.assertNotIsInstance(caught.exception, ConfigurationError)
        db.session.rollback()


class LateModelRunTests(unittest.TestCase):
    """What the user sees: the test errors with the paragraph, no driver traceback.

    The transactional class, when it runs after the import, errors in its
    set-up (emptying the tables reaches the missing one): the same paragraph.
    """

    def run_suite(self, label: str, driver: str) -> str:
        project = Project(self, directory=ROOT, timeout=120)
        result = project.run([label, "--noinput"], env={"FLASK_DBTESTCASE_DRIVER": driver})
        self.assertNotEqual(result.returncode, 0, result)
        return result.stderr

    def check(self, output: str, errors: int):
        self.assertEqual(output.count("ConfigurationError: The table 'fdt_late'"), errors, output)
        for phrase in PARAGRAPH:
            self.assertEqual(output.count(phrase), errors, (phrase, output))
        self.assertNotIn("UndefinedTable", output)
        self.assertNotIn("Traceback", output)

    def test_the_cause_is_short(self):
        """Under plain unittest the error is chained to the driver's message alone."""
        from tests.catalog.suite_late import LateModelTests

        result = unittest.TestResult()
        unittest.TestLoader().loadTestsFromTestCase(LateModelTests).run(result)
        self.assertEqual(len(result.errors), 1, result.errors)
        text = result.errors[0][1]
        self.assertIn("ConfigurationError: The table 'fdt_late'", text)
        cause = text.split("The above exception was the direct cause")[0]
        self.assertIn('relation "fdt_late" does not exist', cause)
        self.assertNotIn("site-packages/psycopg", cause, "no driver frames in the cause")

    @tag("slow")
    def test_both_kinds_of_class_psycopg(self):
        self.check(self.run_suite("tests.catalog.suite_late", "psycopg"), 2)

    def test_both_kinds_of_class_psycopg2(self):
        self.check(self.run_suite("tests.catalog.suite_late", "psycopg2"), 2)
