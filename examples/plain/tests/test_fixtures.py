from flask_dbtestcase import FlaskDBTestCase

from todo.models import Task


class ProjectFixtureTests(FlaskDBTestCase):
    fixtures = ["projects.json"]

    def test_fixture_rows_are_there(self):
        self.assertRowCount(Task, 3)
        self.assertRowCount(Task, 1, done=True)

    def test_report(self):
        self.assertEqual(self.client.get("/report").get_json(), {"garden": 1, "house": 1})

    def test_new_rows_get_ids_past_the_fixture_ones(self):
        resp = self.client.post("/projects", json={"name": "shed"})

        self.assertEqual(resp.get_json()["id"], 3)
