"""What persists without the hook: a cache filled from a rolled-back row (run in file order).

Not a suite of pairs: its second test relies on the first having run, to
show (and keep documented) that extension state on the shared app outlives
the test transaction. tests/test_app_state.py runs it in-process, in order.
"""

from __future__ import annotations

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase
from flask_dbtestcase.cases.testdb import current_database_url
from tests.appstate.stateapp import Gadget, create_app, db, gadget_names
from tests.support import run_sql


class PersistingCacheTests(FlaskDBTestCase):
    """No ``reset_app_state``: the cache keeps a value computed from a row rolled back."""

    app_factory = create_app

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.addClassCleanup(cls.app.extensions["mycache"].clear)  # for the classes after it

    def test_1_fills_the_cache_from_a_flushed_row(self) -> None:
        self.assertEqual(self.app.extensions["mycache"], {})
        db.session.add(Gadget(name="flushed"))
        db.session.flush()
        self.assertEqual(gadget_names(), ["flushed"])

    def test_2_the_cache_still_has_it(self) -> None:
        # The row was rolled back, on the test connection and for everyone ...
        self.assertEqual(db.session.scalar(sa.select(sa.func.count()).select_from(Gadget)), 0)
        url = current_database_url()
        self.assertEqual(run_sql(url, "SELECT count(*) FROM appstate_gadget"), [(0,)])
        # ... but the app's cache, as production's would, still serves it.
        self.assertEqual(gadget_names(), ["flushed"])
