"""A test case class under pytest: its reset_app_state is the hook (no fixture in this module)."""

from test_cache import check_then_fill

from flask_dbtestcase import FlaskDBTestCase
from flask_dbtestcase.cases.testdb import current_database_url


class CacheTests(FlaskDBTestCase):
    def reset_app_state(self):
        self.app.extensions["mycache"].clear()

    def test_4_fills(self):
        check_then_fill(self.app, current_database_url(), "flushed-4")

    def test_5_fills(self):
        check_then_fill(self.app, current_database_url(), "flushed-5")
