"""cookiecutter-flask's fixtures on in-memory SQLite, for the example blog's pytest tests.

The recipe most Flask projects use (cookiecutter-flask's ``tests/conftest.py``):
an ``app`` from the factory with ``SQLALCHEMY_DATABASE_URI="sqlite://"`` and
a ``db`` fixture that runs ``create_all()`` before each test and
``drop_all()`` after it. ``client``, ``module_db`` and
``assert_num_queries`` stand in for the plugin's fixtures of those names, so
that ``test_blog.py`` runs the example's own test functions unchanged. Run by
``bench/sqlite.py``; not part of any test suite.
"""

import contextlib
import os
import sys

import pytest
from sqlalchemy import event

BLOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "blog")
sys.path.insert(0, os.path.normpath(BLOG))

from blog import create_app  # noqa: E402
from blog.models import db as _db  # noqa: E402


@pytest.fixture
def app():
    _app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    ctx = _app.test_request_context()
    ctx.push()
    yield _app
    ctx.pop()


@pytest.fixture
def db(app):
    _db.app = app
    with app.app_context():
        _db.create_all()
    yield _db
    _db.session.close()
    _db.drop_all()


@pytest.fixture
def module_db(db):
    """The recipe drops every table after each test: "module" data is made per test."""
    return db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def assert_num_queries(db):
    """``with assert_num_queries(n):`` fails unless ``n`` statements ran inside."""

    @contextlib.contextmanager
    def check(expected):
        statements = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(statements) == expected, statements

    return check
