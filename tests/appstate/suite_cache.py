"""A cache-like extension filled from a rolled-back row, reset by the hook, in pairs.

``mycache`` (tests/appstate/stateapp.py) keeps a query's result on the
run's one shared app, as Flask-Caching's ``SimpleCache`` does. Each test
here flushes a row and fills the cache from it: the row is rolled back
with the test, the cache would keep it (see tests/test_app_state.py,
which shows that it does without the hook). With ``reset_app_state``
wired, every test's setUp finds the cache empty and the table empty, on the
test connection and on a separate real one, whatever ran before (in its
class, a later class, another order). One class resets per class instead,
with ``addClassCleanup``: the classes after it find the cache empty.
tests/test_app_state.py runs this module in every order.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import current_app

from flask_dbtestcase import FlaskDBTestCase, FlaskDBTransactionTestCase
from flask_dbtestcase.cases.testdb import current_database_url
from tests.appstate.stateapp import Gadget, create_app, db, gadget_names
from tests.support import run_sql


class CacheCheck:
    """setUp: nothing left by an earlier test, in the cache or the table (on both connections)."""

    app: t.Any

    def check_nothing_left(self) -> None:
        self.assertEqual(self.app.extensions["mycache"], {})
        self.assertEqual(db.session.scalar(sa.select(sa.func.count()).select_from(Gadget)), 0)
        url = current_database_url()
        self.assertEqual(run_sql(url, "SELECT count(*) FROM appstate_gadget"), [(0,)])

    def fill_from_a_flushed_row(self, name: str) -> None:
        db.session.add(Gadget(name=name))
        db.session.flush()
        self.assertEqual(gadget_names(), [name])
        self.assertEqual(self.app.extensions["mycache"], {"gadget_names": [name]})


class CacheResetTests(CacheCheck, FlaskDBTestCase):
    app_factory = create_app

    def reset_app_state(self) -> None:
        self.assertIs(current_app._get_current_object(), self.app)  # the class's app context
        self.app.extensions["mycache"].clear()  # Flask-Caching: cache.clear()

    def setUp(self) -> None:
        self.check_nothing_left()

    def test_1_fills_the_cache(self) -> None:
        self.fill_from_a_flushed_row("flushed-1")

    def test_2_fills_the_cache(self) -> None:
        self.fill_from_a_flushed_row("flushed-2")


class LaterCacheResetTests(CacheResetTests):
    pass


class TransactionCacheResetTests(CacheCheck, FlaskDBTransactionTestCase):
    app_factory = create_app

    reset_app_state = CacheResetTests.reset_app_state
    setUp = CacheResetTests.setUp

    def test_commits_and_fills_the_cache(self) -> None:
        db.session.add(Gadget(name="committed"))
        db.session.commit()
        self.assertEqual(gadget_names(), ["committed"])


class ClassCacheResetTests(CacheCheck, FlaskDBTestCase):
    """Resets per class: its one test fills the cache; it is cleared when the class ends."""

    app_factory = create_app

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.addClassCleanup(cls.app.extensions["mycache"].clear)

    def setUp(self) -> None:
        self.check_nothing_left()

    def test_fills_the_cache(self) -> None:
        self.fill_from_a_flushed_row("flushed-class")
