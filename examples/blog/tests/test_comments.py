from flask_dbtestcase import FlaskDBTestCase

from blog.models import Comment, Post, User, db


class CommentAPITests(FlaskDBTestCase):
    @classmethod
    def setUpTestData(cls):
        author, reader = User(username="author"), User(username="reader")
        post = Post(author=author, title="Comment on me")
        db.session.add_all([author, reader, post])
        db.session.commit()
        cls.post_id, cls.reader_id = post.id, reader.id

    def test_add_comment(self):
        resp = self.client.post(
            f"/posts/{self.post_id}/comments",
            json={"user_id": self.reader_id, "body": "First!"},
        )

        self.assertEqual(resp.status_code, 201)
        self.assertEqual(resp.get_json()["author"], "reader")
        self.assertRowCount(Comment, 1, post_id=self.post_id, user_id=self.reader_id)

    def test_comment_shows_up_in_the_listing(self):
        for body in ("one", "two"):
            self.client.post(
                f"/posts/{self.post_id}/comments",
                json={"user_id": self.reader_id, "body": body},
            )

        [listed] = self.client.get("/posts").get_json()
        self.assertEqual(listed["comment_count"], 2)

    def test_comment_on_missing_post_is_404(self):
        resp = self.client.post(
            "/posts/999999/comments", json={"user_id": self.reader_id, "body": "?"}
        )

        self.assertEqual(resp.status_code, 404)
        self.assertRowCount(Comment, 0)

    def test_comment_by_unknown_user_is_404(self):
        resp = self.client.post(
            f"/posts/{self.post_id}/comments", json={"user_id": 999999, "body": "?"}
        )

        self.assertEqual(resp.status_code, 404)
        self.assertRowCount(Comment, 0)

    def test_comment_written_by_the_test_is_listed(self):
        post = self.session.get(Post, self.post_id)
        post.comments.append(Comment(user_id=self.reader_id, body="from the test"))
        self.session.flush()

        data = self.client.get(f"/posts/{self.post_id}").get_json()

        self.assertEqual([c["body"] for c in data["comments"]], ["from the test"])
