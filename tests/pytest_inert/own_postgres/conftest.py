"""The project's own PostgreSQL fixtures, as hand-written conftests have them.

The session's database (``$OWN_DATABASE``, a ``test_`` name) is created on
the server ``$OWN_SERVER_URL`` and dropped at the end; each test runs in a
transaction of its own connection, rolled back after it.
"""

import os

import psycopg2
import pytest
import sqlalchemy as sa
from shop import create_app
from shop.models import db as _db
from sqlalchemy.orm import scoped_session, sessionmaker

SERVER = os.environ["OWN_SERVER_URL"]
NAME = os.environ["OWN_DATABASE"]


def admin(statement):
    url = sa.make_url(f"{SERVER}/postgres")
    conn = psycopg2.connect(**url.translate_connect_args(username="user", database="dbname"))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def app():
    admin(f"DROP DATABASE IF EXISTS {NAME}")
    admin(f"CREATE DATABASE {NAME}")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"{SERVER}/{NAME}"})
    yield app
    with app.app_context():
        _db.engine.dispose()
    admin(f"DROP DATABASE {NAME}")


@pytest.fixture(scope="session")
def db(app):
    with app.app_context():
        _db.create_all()
    yield _db
    with app.app_context():
        _db.drop_all()


@pytest.fixture
def session(app, db):
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        )
        yield db.session
        db.session.remove()
        db.session = original
        transaction.rollback()
        connection.close()


@pytest.fixture
def client(app):
    return app.test_client()
