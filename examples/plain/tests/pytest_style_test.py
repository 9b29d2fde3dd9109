"""The same app tested pytest-style: fixtures instead of a TestCase class.

A plain SQLAlchemy app has no extension: ask for ``db`` (or mark the test
``@pytest.mark.flask_db``) for the rolled-back savepoint, and use
``db_session``, the app's own scoped session. The file name ends in
`_test.py`: pytest collects it, the unittest runner's discovery leaves it.
"""

import pytest
from sqlalchemy import func, select

from todo.db import Session
from todo.models import Project, Task


@pytest.fixture(scope="module")
def house(module_db):
    """Created once for the module (through the app's Session), rolled back at its end."""
    project = Project(name="house")
    Session.add(Task(project=project, title="paint the door"))
    Session.commit()
    return project


def test_db_is_none_and_the_session_is_the_apps(db, db_session):
    assert db is None
    assert db_session is Session


def test_add_project(db_session, client):
    resp = client.post("/projects", json={"name": "garden"})

    assert resp.status_code == 201
    garden = select(func.count()).select_from(Project).filter_by(name="garden")
    assert db_session.scalar(garden) == 1


def test_nothing_left_from_the_other_test(db_session):
    """Whichever order they run in (pytest-randomly), test_add_project left nothing."""
    assert db_session.scalar(select(Project).filter_by(name="garden")) is None


@pytest.mark.flask_db
def test_the_marker_gives_the_savepoint_too(client):
    assert client.post("/projects", json={"name": "shed"}).status_code == 201


def test_module_data_and_query_count(house, client, assert_num_queries):
    with assert_num_queries(1):
        tasks = client.get("/tasks").get_json()

    assert [task["project"] for task in tasks] == ["house"]


def test_report_engine_made_at_request_time(house, db_session, client):
    db_session.add(Task(project=db_session.merge(house), title="sweep"))
    db_session.flush()

    assert client.get("/report").get_json()["house"] == 2
