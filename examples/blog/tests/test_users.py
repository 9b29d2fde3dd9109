from flask_dbtestcase import FlaskDBTestCase

from blog.models import Post, User, db


class UserAPITests(FlaskDBTestCase):
    # No app_factory here: it comes from [tool.flask-dbtestcase] in pyproject.toml.

    @classmethod
    def setUpTestData(cls):
        cls.alice = User(username="alice")
        cls.bob = User(username="bob")
        db.session.add_all([cls.alice, cls.bob])
        db.session.add(Post(author=cls.alice, title="Alice's first post"))
        db.session.commit()

    def test_create_user(self):
        resp = self.client.post("/users", json={"username": "carol"})

        self.assertEqual(resp.status_code, 201)
        self.assertEqual(resp.get_json()["username"], "carol")
        self.assertRowCount(User, 3)
        self.assertRowCount(User, 1, username="carol")

    def test_created_user_is_visible_to_the_test_session(self):
        resp = self.client.post("/users", json={"username": "carol"})

        carol = self.session.get(User, resp.get_json()["id"])
        self.assertIsNotNone(carol)
        self.assertEqual(carol.username, "carol")

    def test_duplicate_username_is_409(self):
        resp = self.client.post("/users", json={"username": "alice"})

        self.assertEqual(resp.status_code, 409)
        self.assertEqual(resp.get_json(), {"error": "username already taken"})
        self.assertRowCount(User, 2)

    def test_app_keeps_working_after_a_409(self):
        # The route catches IntegrityError and rolls back; the next request
        # (and the test itself) must be able to use the database normally.
        self.assertEqual(self.client.post("/users", json={"username": "bob"}).status_code, 409)

        resp = self.client.post("/users", json={"username": "dave"})

        self.assertEqual(resp.status_code, 201)
        self.assertRowCount(User, 3)
        self.assertEqual(sorted(u.username for u in User.query.all()), ["alice", "bob", "dave"])

    def test_missing_username_is_400(self):
        resp = self.client.post("/users", json={})

        self.assertEqual(resp.status_code, 400)
        self.assertRowCount(User, 2)

    def test_get_user_counts_posts(self):
        resp = self.client.get(f"/users/{self.alice.id}")

        self.assertEqual(resp.status_code, 200)
        self.assertEqual(
            resp.get_json(), {"id": self.alice.id, "username": "alice", "post_count": 1}
        )

    def test_get_user_is_a_single_query(self):
        url = f"/users/{self.bob.id}"  # outside the block: may refresh self.bob

        with self.assertNumQueries(1):
            resp = self.client.get(url)

        self.assertEqual(resp.get_json()["post_count"], 0)

    def test_unknown_user_is_404(self):
        resp = self.client.get("/users/999999")

        self.assertEqual(resp.status_code, 404)

    def test_user_added_by_the_test_is_seen_by_a_request_once_flushed(self):
        erin = User(username="erin")
        self.session.add(erin)
        self.session.flush()

        resp = self.client.get(f"/users/{erin.id}")

        self.assertEqual(resp.status_code, 200)
        self.assertEqual(resp.get_json()["username"], "erin")
