"""A model in another schema (issue 26, item 10), in pairs.

Each test's setUp checks, on the test connection and on a separate real
one, that no earlier test left a row in ``accounting.ledger``; the first
test of the first class writes rows and commits (a savepoint). Whatever
the order, the test that runs after the writer catches a leak.
tests/test_schemas_named.py runs it in every order.
"""

from __future__ import annotations

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase
from flask_dbtestcase.cases.testdb import current_database_url
from tests.catalog.apps import Customer, Ledger, create_app, db
from tests.support import run_sql

COUNT = "SELECT (SELECT count(*) FROM accounting.ledger) + (SELECT count(*) FROM fdt_customer)"


class NamedSchemaCase(FlaskDBTestCase):
    app_factory = create_app

    def setUp(self):
        self.assertEqual(self.session.execute(sa.text(COUNT)).scalar(), 0, "test connection")
        self.assertEqual(run_sql(current_database_url(), COUNT)[0][0], 0, "separate connection")


class NamedSchemaTests(NamedSchemaCase):
    def test_1_writes_in_the_schema(self):
        db.session.add_all([Ledger(amount=5), Ledger(amount=7), Customer(name="a")])
        db.session.commit()
        self.assertRowCount(Ledger, 2)
        self.assertEqual(
            db.session.scalar(sa.select(sa.func.sum(Ledger.amount))), 12, "in accounting.ledger"
        )

    def test_2_nothing_left(self):
        self.assertRowCount(Ledger, 0)


class LaterNamedSchemaTests(NamedSchemaCase):
    def test_nothing_left(self):
        self.assertRowCount(Ledger, 0)
        self.assertEqual(
            run_sql(current_database_url(), "SELECT to_regclass('accounting.ledger')::text"),
            [("accounting.ledger",)],
        )
