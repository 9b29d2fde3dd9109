"""A model module imported after the test database was built (issue 26, item 11).

The test imports tests/catalog/late_models.py inside the test, after its
class's set-up built the tables, and queries the model: it must error with
flask-dbtestcase's paragraph, which names the model, its module and what to
do, not with the driver's UndefinedTable. tests/test_late_models.py runs it
through the runner and reads what the user sees.
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase, FlaskDBTransactionTestCase
from tests.catalog.lateapp import create_app, db


class LateModelTests(FlaskDBTestCase):
    app_factory = create_app

    def test_query_a_late_model(self):
        late = importlib.import_module("tests.catalog.late_models")
        db.session.execute(sa.select(late.Late)).all()


class LateModelTransactionTests(FlaskDBTransactionTestCase):
    app_factory = create_app

    def test_query_a_late_model(self):
        late = importlib.import_module("tests.catalog.late_models")
        db.session.add(late.Late())
        db.session.commit()
