"""What other connections leave that the watch cannot see (issue 26, item 14), in pairs.

:class:`LeftBehindTests` makes, through separate connections that commit, a
table outside the models, a ``setval`` of a sequence the models made, and a
large object. Its class's end must name all of it once, with the class, and
remove it: every other class's setUp checks, on the test connection and on
a separate real one, that none of it is there. :class:`OrdinaryTests`
moves sequences the ordinary way (inserts that are rolled back): its end
must say nothing. Each class captures what its end writes to stderr and
checks it (other output passes through). tests/test_catalog.py runs this
module in every order.
"""

from __future__ import annotations

import contextlib
import io
import sys
import typing as t

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase
from flask_dbtestcase.cases.testdb import current_database_url
from tests.catalog.apps import Customer, Ledger, create_app, db
from tests.support import run_sql

STATE = (
    "SELECT to_regclass('public.fdt_outside')::text, "
    "(SELECT count(*) FROM pg_largeobject_metadata), "
    "(SELECT coalesce(last_value, 0) < 500 FROM pg_sequences WHERE sequencename = 'fdt_counter')"
)
NOTHING = (None, 0, True)
WARNING = "flask-dbtestcase: warning: "


class LeftoverCase(FlaskDBTestCase):
    app_factory = create_app
    #: What the class's end must name (None: it must say nothing).
    expected: t.ClassVar[list[str] | None] = None

    @classmethod
    def setUpClass(cls):
        buffer = io.StringIO()
        redirect = contextlib.redirect_stderr(buffer)
        cls.addClassCleanup(cls.check_end, redirect, buffer)  # runs last
        super().setUpClass()
        cls.addClassCleanup(redirect.__enter__)  # runs first: before the class's end

    @classmethod
    def check_end(cls, redirect: t.Any, buffer: io.StringIO) -> None:
        redirect.__exit__(None, None, None)
        lines = buffer.getvalue().splitlines(True)
        ours = [line for line in lines if line.startswith(WARNING)]
        sys.stderr.write("".join(line for line in lines if line not in ours))
        if cls.expected is None:
            assert not ours, f"{cls.__qualname__}'s end warned: {ours}"
            return
        assert len(ours) == 1, f"{cls.__qualname__}'s end did not warn once: {ours}"
        assert ours[0].startswith(f"{WARNING}{cls.__qualname__} left behind"), ours[0]
        for phrase in cls.expected:
            assert phrase in ours[0], f"{phrase!r} not in {ours[0]!r}"

    def setUp(self):
        self.assertNothingLeft()

    def assertNothingLeft(self):
        here = tuple(self.session.execute(sa.text(STATE)).one())
        self.assertEqual(here, NOTHING, "on the test connection")
        self.assertEqual(tuple(run_sql(current_database_url(), STATE)[0]), NOTHING, "separately")


class LeftBehindTests(LeftoverCase):
    expected = [  # noqa: RUF012
        "table fdt_outside (created outside the models)",
        "sequence fdt_counter moved from its start to 500",
        "1 large object",
        "they were removed",
    ]

    def test_leaves_things_behind(self):
        url = current_database_url()
        db.session.add(Customer(name="mine"))
        db.session.flush()
        run_sql(url, "CREATE TABLE fdt_outside (id serial PRIMARY KEY)")  # committed
        run_sql(url, "SELECT setval('fdt_counter', 500)")
        run_sql(url, "SELECT lo_create(0)")
        self.assertEqual(run_sql(url, STATE)[0], ("fdt_outside", 1, False))


class OrdinaryTests(LeftoverCase):
    """Sequences moved by the test connection (rolled-back inserts) are no leftover."""

    def test_inserts(self):
        db.session.add_all([Ledger(amount=1), Customer(name="one")])
        db.session.commit()
        db.session.execute(sa.select(sa.func.nextval("fdt_counter")))

    def test_more_inserts(self):
        db.session.add_all([Ledger(amount=2), Customer(name="two")])
        db.session.commit()


class LaterTests(LeftoverCase):
    def test_nothing_left(self):
        self.assertRowCount(Customer, 0)


class AnotherLaterTests(LeftoverCase):
    def test_nothing_left(self):
        self.assertRowCount(Ledger, 0)
