from flask_dbtestcase import FlaskDBTransactionTestCase
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from todo.models import Project


class RealCommitTests(FlaskDBTransactionTestCase):
    """Requests really commit; the tables are emptied after each test."""

    def count_elsewhere(self):
        other = create_engine(self.app.config["DATABASE_URL"], poolclass=NullPool)
        try:
            with other.connect() as conn:
                return conn.scalar(select(func.count()).select_from(Project))
        finally:
            other.dispose()

    def test_a_commit_is_seen_by_another_connection(self):
        self.client.post("/projects", json={"name": "garden"})

        self.assertEqual(self.count_elsewhere(), 1)
        self.assertEqual(self.client.get("/report").get_json(), {"garden": 0})

    def test_tables_start_empty(self):
        self.assertEqual(self.count_elsewhere(), 0)
