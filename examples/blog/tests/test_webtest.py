"""The same API through WebTest, as many Flask projects test it.

WebTest calls the app's WSGI callable directly, not through Flask's test
client: each of its requests still gets its own app context and session,
and whatever a request commits is rolled back after the test.
"""

from flask_dbtestcase import FlaskDBTestCase
from webtest import TestApp

from blog.models import Post, User, db


class WebTestAPITests(FlaskDBTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.alice = User(username="alice")
        db.session.add(cls.alice)
        db.session.add(Post(author=cls.alice, title="Hello"))

    def setUp(self):
        self.web = TestApp(self.app)

    def test_signup_then_read_back(self):
        created = self.web.post_json("/users", {"username": "carol"}, status=201).json

        self.assertEqual(self.web.get(f"/users/{created['id']}").json["post_count"], 0)
        self.assertRowCount(User, 2)

    def test_duplicate_username_is_409(self):
        resp = self.web.post_json("/users", {"username": "alice"}, status=409)

        self.assertEqual(resp.json, {"error": "username already taken"})
        self.assertRowCount(User, 1)

    def test_only_the_class_data_is_there(self):
        # Whatever another test created through WebTest was rolled back.
        self.assertEqual(self.web.get(f"/users/{self.alice.id}").json["post_count"], 1)
        self.assertRowCount(User, 1)
