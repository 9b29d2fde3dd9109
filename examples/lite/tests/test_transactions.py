from flask_dbtestcase import FlaskDBTransactionTestCase
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from library.models import Book, Event, db


class RealCommitTests(FlaskDBTransactionTestCase):
    """Requests really commit; the tables are emptied after each test."""

    def other_connection_count(self, table, engine_name="default"):
        with self.app.app_context():
            url = db.get_engine(engine_name).url
        other = create_engine(url, poolclass=NullPool)
        try:
            with other.connect() as conn:
                return conn.scalar(select(func.count()).select_from(table))
        finally:
            other.dispose()

    def test_a_commit_is_seen_by_another_connection(self):
        self.client.post("/books", json={"title": "Palomar", "author": "Italo Calvino"})

        self.assertEqual(self.other_connection_count(Book), 1)
        self.assertEqual(self.other_connection_count(Event, "audit"), 1)

    def test_tables_start_empty(self):
        self.assertRowCount(Book, 0)
        self.assertEqual(self.other_connection_count(Event, "audit"), 0)
