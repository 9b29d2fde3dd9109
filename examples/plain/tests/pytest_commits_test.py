"""Real commits under pytest: the ``transactional_db`` fixture."""

from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from todo.models import Project


def count_elsewhere(app):
    other = create_engine(app.config["DATABASE_URL"], poolclass=NullPool)
    try:
        with other.connect() as conn:
            return conn.scalar(select(func.count()).select_from(Project))
    finally:
        other.dispose()


def test_really_commits(transactional_db, app, client):
    client.post("/projects", json={"name": "garden"})

    assert count_elsewhere(app) == 1


def test_starts_empty(transactional_db, app):
    assert count_elsewhere(app) == 0
