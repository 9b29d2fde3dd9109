"""FlaskDBTransactionTestCase: real commits, then every table emptied and sequences reset."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTransactionTestCase
from flask_dbtestcase.cases.testdb import current_database_url
from tests.sampleapp import Audit, Item, create_app, db
from tests.support import run_sql


def committed_names() -> list[str]:
    """What a separate, independent connection sees."""
    return [
        row[0] for row in run_sql(current_database_url(), "SELECT name FROM item ORDER BY name")
    ]


class RealCommitTests(FlaskDBTransactionTestCase):
    app_factory = create_app
    fixtures = ["fixtures/items.json"]

    def setUp(self):
        # Fixtures are loaded before each test; nothing else is left over.
        self.assertEqual(committed_names(), ["from-fixture", "no-explicit-id", "second"])

    def test_commit_is_visible_to_other_connections(self):
        resp = self.client.post("/items", json={"name": "real"})
        self.assertEqual(resp.status_code, 201)
        self.assertIn("real", committed_names())

    def test_thread_sees_commit(self):
        db.session.add(Item(name="threaded"))
        db.session.commit()
        seen = []
        thread = threading.Thread(target=lambda: seen.extend(committed_names()))
        thread.start()
        thread.join(10)
        self.assertIn("threaded", seen)

    def test_sequences_are_reset(self):
        db.session.add(Audit(event="after reset"))
        db.session.commit()
        # The fixture's audit row took id 1; a reset sequence gives 2 again.
        self.assertEqual(db.session.scalar(sa.select(sa.func.max(Audit.id))), 2)
