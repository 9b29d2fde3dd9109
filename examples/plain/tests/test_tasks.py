from flask_dbtestcase import FlaskDBTestCase
from sqlalchemy import select

from todo.db import Session
from todo.models import Project, Task


class TaskTests(FlaskDBTestCase):
    """A plain SQLAlchemy app: ``self.session`` is its scoped session, ``self.db`` is None."""

    @classmethod
    def setUpTestData(cls):
        cls.house = Project(name="house")
        cls.door = Task(project=cls.house, title="paint the door")
        Session.add(cls.door)
        Session.commit()

    def test_there_is_no_extension_the_session_is_the_apps(self):
        self.assertIsNone(self.db)
        self.assertIs(self.session, Session)

    def test_list_tasks_is_one_query(self):
        with self.assertNumQueries(1):
            resp = self.client.get("/tasks")

        self.assertEqual(resp.get_json(), [self.door.to_dict()])

    def test_add_project_commits_in_the_request(self):
        resp = self.client.post("/projects", json={"name": "garden"})

        self.assertEqual(resp.status_code, 201)
        self.assertRowCount(Project, 2)

    def test_a_duplicate_project_is_refused_and_rolled_back(self):
        resp = self.client.post("/projects", json={"name": "house"})

        self.assertEqual(resp.status_code, 409)
        self.assertRowCount(Project, 1)
        self.assertEqual(self.client.get("/count").get_json(), {"tasks": 1})  # still works

    def test_add_tasks_in_one_transaction(self):
        resp = self.client.post(
            f"/projects/{self.house.id}/tasks", json={"titles": ["sweep", "dust"]}
        )

        self.assertEqual(resp.get_json(), {"count": 3})
        self.assertRowCount(Task, 3, project_id=self.house.id)

    def test_finish_a_task(self):
        self.client.post(f"/tasks/{self.door.id}/done")

        self.assertTrue(self.session.get(Task, self.door.id).done)

    def test_the_report_engine_made_at_request_time_sees_the_test(self):
        self.session.add(Task(project=self.house, title="sweep"))
        self.session.flush()  # on the test's connection: the report's engine shares it

        self.assertEqual(self.client.get("/report").get_json(), {"house": 2})

    def test_rollback_in_the_test(self):
        self.session.add(Project(name="shed"))
        self.session.flush()
        self.session.rollback()

        self.assertIsNone(self.session.scalar(select(Project).filter_by(name="shed")))
