"""FlaskDBTestCase classes in the same run share the session's test database."""

import json
import os

import sqlalchemy as sa
from myapp import Thing, db, names

from flask_dbtestcase import FlaskDBTestCase


class ThingTests(FlaskDBTestCase):
    @classmethod
    def setUpTestData(cls):
        db.session.add(Thing(name="class-data"))
        db.session.commit()

    def record(self):
        row = self.session.execute(
            sa.text("SELECT current_database(), current_setting('data_directory')")
        ).one()
        with open(os.environ["RECORD_FILE"], "a") as f:
            line = {
                "test": self.id(),
                "pid": os.getpid(),
                "worker": os.environ.get("PYTEST_XDIST_WORKER"),
                "database": row[0],
                "data_directory": row[1],
            }
            f.write(json.dumps(line) + "\n")

    def test_commits(self):
        self.assertEqual(names(), ["class-data"])
        db.session.add(Thing(name="from-class-test"))
        db.session.commit()
        self.record()

    def test_sees_only_the_class_data(self):
        self.assertEqual(names(), ["class-data"])
        db.session.add(Thing(name="from-class-test"))
        db.session.commit()
        self.record()
