import os
import unittest

import sqlalchemy as sa


class FailsAfterSQL(unittest.TestCase):
    def test_fails_after_a_query(self):
        engine = sa.create_engine(os.environ["FLASK_DBTESTCASE_DATABASE_URL"])
        try:
            with engine.connect() as conn:
                self.assertEqual(conn.execute(sa.text("SELECT 42 AS the_answer")).scalar(), 42)
        finally:
            engine.dispose()
        self.fail("failing on purpose")
