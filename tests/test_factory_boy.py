"""factory_boy's SQLAlchemyModelFactory on the test's session.

The recipe, for a Flask-SQLAlchemy app::

    class ItemFactory(factory.alchemy.SQLAlchemyModelFactory):
        class Meta:
            model = Item
            sqlalchemy_session_factory = lambda: db.session
            sqlalchemy_session_persistence = "flush"   # or "commit"

``db.session`` is a scoped session: which real session it is gets decided at
each call, from the current app context. The factory therefore uses the test's
session in a test (and in ``setUpTestData``), whichever class and app it runs
in. (``sqlalchemy_session = db.session`` works the same way; what does *not*
work is ``db.session()`` evaluated at import time, which pins one session.)

Everything a factory creates is rolled back after the test, whether it
flushed or committed; objects created in ``setUpTestData`` are class data
that every test of the class starts from.
"""

from __future__ import annotations

import importlib.util
import unittest

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase
from tests.sampleapp import Audit, Item, Note, create_app, db

HAVE_FACTORY_BOY = importlib.util.find_spec("factory") is not None

if HAVE_FACTORY_BOY:
    import factory
    from factory.alchemy import SQLAlchemyModelFactory

    class BaseFactory(SQLAlchemyModelFactory):
        class Meta:
            abstract = True
            sqlalchemy_session_factory = lambda: db.session  # noqa: E731
            sqlalchemy_session_persistence = "commit"

    class ItemFactory(BaseFactory):
        class Meta:
            model = Item

        name = factory.Sequence(lambda n: f"item-{n}")

    class FlushingItemFactory(ItemFactory):
        class Meta:
            sqlalchemy_session_persistence = "flush"

    class AddOnlyItemFactory(ItemFactory):
        class Meta:
            sqlalchemy_session_persistence = None

    class GetOrCreateItemFactory(ItemFactory):
        class Meta:
            sqlalchemy_get_or_create = ("name",)

    class NoteFactory(BaseFactory):
        class Meta:
            model = Note
            sqlalchemy_session_persistence = "flush"

        item_id = factory.LazyFunction(lambda: FlushingItemFactory().id)
        text = factory.Faker("sentence")

    class AuditFactory(BaseFactory):
        """A model in the second database (bind 'audit')."""

        class Meta:
            model = Audit

        event = factory.Sequence(lambda n: f"event-{n}")


@unittest.skipUnless(HAVE_FACTORY_BOY, "factory_boy is not installed (pip install -e '.[test]')")
class FactoryCase(FlaskDBTestCase):
    app_factory = create_app

    @classmethod
    def setUpTestData(cls):
        cls.class_items = ItemFactory.create_batch(2, name=factory.Iterator(["alice", "bob"]))
        AuditFactory(event="class data")

    def setUp(self):
        # Every test starts from the class data alone, whatever ran before.
        self.assertEqual(
            self.item_names(), ["alice", "bob"], "a previous test's factory rows leaked"
        )
        self.assertRowCount(Note, 0)
        self.assertEqual(self.session.scalars(sa.select(Audit.event)).all(), ["class data"])

    def item_names(self) -> list[str]:
        return self.session.scalars(sa.select(Item.name).order_by(Item.name)).all()

    def api_names(self) -> list[str]:
        resp = self.client.get("/items")
        self.assertEqual(resp.status_code, 200)
        return resp.get_json()["names"]


class CommitFactoryTests(FactoryCase):
    """sqlalchemy_session_persistence = "commit": really committed, still rolled back."""

    def test_create_uses_the_test_session(self):
        item = ItemFactory(name="carol")
        self.assertIs(sa.orm.object_session(item), db.session())
        self.assertIsNotNone(item.id)
        self.assertEqual(self.item_names(), ["alice", "bob", "carol"])

    def test_committed_rows_are_seen_by_requests(self):
        ItemFactory.create_batch(3)
        self.assertEqual(len(self.api_names()), 5)
        self.assertRowCount(Item, 5)

    def test_second_database_commit_is_rolled_back_too(self):
        AuditFactory.create_batch(2)
        self.assertRowCount(Audit, 3)

    def test_build_does_not_touch_the_database(self):
        item = ItemFactory.build(name="dave")
        self.assertIsNone(item.id)
        self.assertNotIn(item, db.session)
        self.assertRowCount(Item, 2)

    def test_class_data_objects_are_usable(self):
        alice = self.class_items[0]
        self.assertEqual(alice.name, "alice")
        alice.name = "alicia"
        db.session.commit()
        self.assertEqual(self.item_names(), ["alicia", "bob"])

    def test_get_or_create_finds_class_data(self):
        alice = GetOrCreateItemFactory(name="alice")
        self.assertEqual(alice.id, self.class_items[0].id)
        GetOrCreateItemFactory(name="erin")
        self.assertEqual(self.item_names(), ["alice", "bob", "erin"])

    def test_session_rollback_undoes_only_the_test_work(self):
        ItemFactory(name="frank")
        # committed: the session's own rollback has nothing left to undo
        db.session.rollback()
        self.assertEqual(self.item_names(), ["alice", "bob", "frank"])


class FlushFactoryTests(FactoryCase):
    """sqlalchemy_session_persistence = "flush": rows exist for the transaction only."""

    def test_flush_gives_ids_and_rows(self):
        item = FlushingItemFactory(name="carol")
        self.assertIsNotNone(item.id)
        self.assertIs(sa.orm.object_session(item), db.session())
        self.assertEqual(self.item_names(), ["alice", "bob", "carol"])

    def test_flushed_rows_are_seen_by_requests(self):
        FlushingItemFactory(name="carol")
        self.assertEqual(self.api_names(), ["alice", "bob", "carol"])

    def test_session_rollback_discards_flushed_rows_but_not_class_data(self):
        FlushingItemFactory.create_batch(3)
        self.assertRowCount(Item, 5)
        db.session.rollback()
        self.assertEqual(self.item_names(), ["alice", "bob"])

    def test_related_factories(self):
        notes = NoteFactory.create_batch(2)
        self.assertRowCount(Note, 2)
        self.assertRowCount(Item, 4)
        self.assertEqual(len({note.item_id for note in notes}), 2)


class AddOnlyFactoryTests(FactoryCase):
    """sqlalchemy_session_persistence = None: only added to the session."""

    def test_added_objects_are_invisible_to_requests_until_flushed(self):
        AddOnlyItemFactory(name="carol")
        # A request has its own session, as in production: it sees what the
        # test flushed, not what it merely added.
        self.assertEqual(self.api_names(), ["alice", "bob"])
        self.assertEqual(self.item_names(), ["alice", "bob", "carol"])  # autoflush
        self.assertEqual(self.api_names(), ["alice", "bob", "carol"])


if __name__ == "__main__":
    unittest.main()
