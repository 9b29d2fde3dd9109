from datetime import datetime, timezone

from flask_dbtestcase import FlaskDBTestCase

from blog.models import Post, Tag, User, post_tags


class TagFixtureTests(FlaskDBTestCase):
    # Named explicitly here; the other classes get it from pyproject.toml.
    app_factory = "blog:create_app"
    fixtures = ["tests/fixtures/tags.json"]

    def test_fixture_rows_are_loaded(self):
        self.assertRowCount(User, 2)
        self.assertRowCount(Post, 2)
        self.assertRowCount(Tag, 3)
        self.assertRowCount(post_tags, 3)
        self.assertRowCount(post_tags, 2, post_id=2)

    def test_post_detail_lists_fixture_tags(self):
        data = self.client.get("/posts/2").get_json()

        self.assertEqual(data["author"], "bob")
        self.assertEqual(data["tags"], ["flask", "testing"])

    def test_omitted_columns_get_their_server_default(self):
        first, second = self.session.get(Post, 1), self.session.get(Post, 2)

        self.assertIsNotNone(first.created_at)  # not in the fixture: now()
        self.assertEqual(second.created_at, datetime(2024, 5, 1, 12, tzinfo=timezone.utc))

    def test_new_rows_do_not_collide_with_fixture_ids(self):
        user = self.client.post("/users", json={"username": "carol"})
        post = self.client.post(
            "/posts", json={"user_id": 1, "title": "More", "tags": ["flask", "new"]}
        )

        self.assertEqual(user.status_code, 201)
        self.assertGreater(user.get_json()["id"], 2)
        self.assertEqual(post.status_code, 201)
        self.assertGreater(post.get_json()["id"], 2)
        self.assertRowCount(Tag, 4)

    def test_fixture_usernames_are_taken(self):
        resp = self.client.post("/users", json={"username": "alice"})

        self.assertEqual(resp.status_code, 409)
