"""fixtures: JSON files loaded once per class, in order, sequences moved past explicit ids."""

from __future__ import annotations

import json
import os
import tempfile
import unittest
from pathlib import Path

import sqlalchemy as sa

from flask_dbtestcase import ConfigurationError, FlaskDBTestCase
from flask_dbtestcase.cases.fixturefiles import find_fixture, fixture_tables, load_fixture
from tests.sampleapp import Audit, Item, Note, create_app, db


class FixtureLoadingTests(FlaskDBTestCase):
    app_factory = create_app
    fixtures = ["fixtures/items.json"]

    def test_rows_loaded_in_order_with_differing_columns(self):
        self.assertRowCount(Item, 3)
        self.assertRowCount(Note, 1, item_id=10, text="first note")
        self.assertRowCount(Note, 1, item_id=11, text="")
        self.assertRowCount(Audit, 1, event="fixture in the audit bind")

    def test_sequence_moved_past_explicit_ids(self):
        db.session.add(Item(name="new"))
        db.session.commit()
        ids = db.session.scalars(sa.select(Item.id).order_by(Item.id)).all()
        self.assertEqual(len(ids), len(set(ids)))
        self.assertGreater(ids[-1], 11)

    def test_changes_are_rolled_back(self):
        db.session.execute(sa.delete(Note))
        db.session.commit()
        self.assertRowCount(Note, 0)

    def test_each_test_starts_from_the_fixture(self):
        self.assertRowCount(Note, 2)


class MalformedFixtureTests(FlaskDBTestCase):
    """Bad fixture files name the file, the table and the row."""

    app_factory = create_app

    def load(self, data):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write(data if isinstance(data, str) else json.dumps(data))
        self.addCleanup(os.unlink, f.name)
        load_fixture(Path(f.name), fixture_tables(db), db.session)
        return f.name

    def assertLoadFails(self, data, *fragments):
        with self.assertRaises(ConfigurationError) as caught:
            self.load(data)
        for fragment in fragments:
            self.assertIn(fragment, str(caught.exception))

    def test_not_json(self):
        self.assertLoadFails("{nope", "is not valid JSON")

    def test_unknown_table(self):
        self.assertLoadFails({"nope": []}, "names table 'nope'", "Known tables")

    def test_unknown_column(self):
        self.assertLoadFails(
            {"item": [{"name": "a"}, {"nme": "b"}]}, "table 'item', row 1", "no column named 'nme'"
        )

    def test_row_not_an_object(self):
        self.assertLoadFails({"item": [["a"]]}, "table 'item', row 0", "must be a JSON object")

    def test_database_refuses_row(self):
        self.assertLoadFails(
            {"item": [{"name": "x"}, {"name": "x"}]}, "table 'item', row 1", "refused it"
        )
        self.assertRowCount(Item, 0)

    def test_missing_file(self):
        with self.assertRaises(ConfigurationError) as caught:
            find_fixture("no/such.json", type(self))
        self.assertIn("Fixture file 'no/such.json'", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
