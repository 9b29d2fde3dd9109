"""Real commits under pytest: the ``transactional_db`` fixture (a module of its own:
a test that really commits cannot run inside another module's shared data)."""

from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from library.models import Book


def count_elsewhere(url):
    other = create_engine(url, poolclass=NullPool)
    try:
        with other.connect() as conn:
            return conn.scalar(select(func.count()).select_from(Book))
    finally:
        other.dispose()


def test_really_commits(transactional_db, client):
    client.post("/books", json={"title": "Palomar", "author": "Italo Calvino"})

    assert count_elsewhere(transactional_db.engine.url) == 1


def test_starts_empty(transactional_db):
    assert count_elsewhere(transactional_db.engine.url) == 0
