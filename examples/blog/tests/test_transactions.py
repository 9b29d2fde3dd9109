import threading

from flask_dbtestcase import FlaskDBTransactionTestCase
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from blog.models import User, db


class RealCommitTests(FlaskDBTransactionTestCase):
    """Things only a real COMMIT shows: other connections and other threads."""

    def test_commit_is_visible_to_another_connection(self):
        resp = self.client.post("/users", json={"username": "carol"})
        self.assertEqual(resp.status_code, 201)

        other = create_engine(self.db.engine.url, poolclass=NullPool)
        self.addCleanup(other.dispose)
        with other.connect() as conn:
            names = conn.execute(text("SELECT username FROM users")).scalars().all()

        self.assertEqual(names, ["carol"])

    def test_commit_is_visible_from_another_thread(self):
        self.client.post("/users", json={"username": "dave"})
        seen = []

        def count_users():
            with self.app.app_context():  # its own session and connection
                seen.append(db.session.scalar(select(func.count(User.id))))

        worker = threading.Thread(target=count_users)
        worker.start()
        worker.join(timeout=10)

        self.assertEqual(seen, [1])

    def test_tables_are_emptied_and_sequences_reset_a(self):
        self.assertRowCount(User, 0)
        resp = self.client.post("/users", json={"username": "erin"})
        self.assertEqual(resp.get_json()["id"], 1)

    def test_tables_are_emptied_and_sequences_reset_b(self):
        self.assertRowCount(User, 0)
        resp = self.client.post("/users", json={"username": "frank"})
        self.assertEqual(resp.get_json()["id"], 1)
