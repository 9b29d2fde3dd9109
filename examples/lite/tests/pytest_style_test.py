"""The same app tested pytest-style: fixtures instead of a TestCase class.

`make example` runs the suite under pytest too. The ``db`` fixture is the
app's Flask-SQLAlchemy-Lite extension, ``db_session`` its ``db.session``.
The file name ends in `_test.py`: pytest collects it, and the unittest
runner's discovery (`test*.py`) leaves it to pytest.
"""

import pytest
from sqlalchemy import func, select

from library.models import Author, Book, Event


@pytest.fixture(scope="module")
def calvino(module_db):
    """Created once for the module, rolled back at its end."""
    author = Author(name="Italo Calvino")
    module_db.session.add(Book(title="Invisible Cities", author=author))
    module_db.session.commit()
    return author


def test_db_is_the_lite_extension(db, db_session):
    from library.models import db as library_db

    assert db is library_db
    assert db_session is db.session


def palomar_count(session):
    return session.scalar(select(func.count()).select_from(Book).filter_by(title="Palomar"))


def test_add_book(db_session, client):
    resp = client.post("/books", json={"title": "Palomar", "author": "Italo Calvino"})

    assert resp.status_code == 201
    assert palomar_count(db_session) == 1
    assert db_session.scalar(select(func.count()).select_from(Event)) == 1


def test_nothing_left_from_the_other_test(db_session):
    """Whichever order they run in (pytest-randomly), test_add_book left nothing."""
    assert palomar_count(db_session) == 0
    assert db_session.scalar(select(func.count()).select_from(Event)) == 0


def test_module_data(calvino, db_session, client, assert_num_queries):
    with assert_num_queries(1):
        books = client.get("/books").get_json()

    assert [book["author"] for book in books] == ["Italo Calvino"]


def test_loan_conflict(calvino, db_session, client):
    book_id = db_session.scalar(select(Book.id))
    assert client.post(f"/books/{book_id}/loans", json={"borrower": "ann"}).status_code == 201
    assert client.post(f"/books/{book_id}/loans", json={"borrower": "bob"}).status_code == 409
