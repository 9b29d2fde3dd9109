from flask_dbtestcase import FlaskDBTestCase
from sqlalchemy import select

from blog.models import Comment, Post, Tag, User, db


class PostAPITests(FlaskDBTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.alice = User(username="alice")
        cls.bob = User(username="bob")
        python = Tag(name="python")
        cls.posts = [
            Post(author=cls.alice, title="One", body="first", tags=[python]),
            Post(author=cls.alice, title="Two", body="second"),
            Post(author=cls.bob, title="Three", body="third"),
        ]
        db.session.add_all([cls.alice, cls.bob, *cls.posts])
        db.session.add_all(
            [
                Comment(post=cls.posts[0], author=cls.bob, body="Nice"),
                Comment(post=cls.posts[0], author=cls.alice, body="Thanks"),
                Comment(post=cls.posts[2], author=cls.alice, body="Hm"),
            ]
        )
        db.session.commit()
        cls.alice_id, cls.bob_id = cls.alice.id, cls.bob.id
        cls.post_ids = [post.id for post in cls.posts]

    def test_list_posts(self):
        resp = self.client.get("/posts")

        self.assertEqual(resp.status_code, 200)
        self.assertEqual(
            [(p["id"], p["title"], p["author"], p["comment_count"]) for p in resp.get_json()],
            [
                (self.post_ids[0], "One", "alice", 2),
                (self.post_ids[1], "Two", "alice", 0),
                (self.post_ids[2], "Three", "bob", 1),
            ],
        )

    def test_list_posts_is_a_single_query(self):
        with self.assertNumQueries(1):
            resp = self.client.get("/posts")

        self.assertEqual(len(resp.get_json()), 3)

    def test_list_posts_query_is_the_aggregate(self):
        with self.captureQueries() as queries:
            self.client.get("/posts")

        self.assertEqual(len(queries), 1)
        sql = str(queries[0]).lower()
        self.assertIn("count(comments.id)", sql)
        self.assertIn("group by", sql)

    def test_create_post(self):
        resp = self.client.post(
            "/posts",
            json={"user_id": self.bob_id, "title": "Four", "body": "b", "tags": ["flask", "sql"]},
        )

        self.assertEqual(resp.status_code, 201)
        self.assertEqual(resp.get_json()["tags"], ["flask", "sql"])
        self.assertRowCount(Post, 4)
        self.assertRowCount(Post, 2, user_id=self.bob_id)
        self.assertRowCount(Tag, 3)

    def test_create_post_reuses_existing_tags(self):
        resp = self.client.post(
            "/posts",
            json={"user_id": self.bob_id, "title": "Four", "tags": ["python", "python"]},
        )

        self.assertEqual(resp.status_code, 201)
        self.assertRowCount(Tag, 1)
        python = self.session.scalar(select(Tag).filter_by(name="python"))
        self.assertEqual(sorted(p.title for p in python.posts), ["Four", "One"])

    def test_create_post_sets_created_at_in_the_database(self):
        resp = self.client.post("/posts", json={"user_id": self.alice_id, "title": "Now"})

        post = self.session.get(Post, resp.get_json()["id"])
        self.assertIsNotNone(post.created_at)
        self.assertIsNotNone(post.created_at.tzinfo)

    def test_create_post_for_unknown_author_rolls_back(self):
        resp = self.client.post("/posts", json={"user_id": 999999, "title": "Ghost"})

        self.assertEqual(resp.status_code, 404)
        self.assertRowCount(Post, 3)

    def test_create_post_without_title_is_400(self):
        resp = self.client.post("/posts", json={"user_id": self.alice_id})

        self.assertEqual(resp.status_code, 400)
        self.assertRowCount(Post, 3)

    def test_begin_block_route_works_after_the_test_used_the_session(self):
        # The test has an open transaction on its own session; the route's
        # `with db.session.begin():` must still work, as it does in production.
        frank = User(username="frank")
        self.session.add(frank)
        self.session.flush()

        resp = self.client.post("/posts", json={"user_id": frank.id, "title": "Frank's"})

        self.assertEqual(resp.status_code, 201)
        self.assertEqual(resp.get_json()["author"], "frank")
        self.assertRowCount(Post, 1, user_id=frank.id)

    def test_get_post_detail(self):
        resp = self.client.get(f"/posts/{self.post_ids[0]}")

        data = resp.get_json()
        self.assertEqual(data["title"], "One")
        self.assertEqual(data["tags"], ["python"])
        self.assertEqual([c["body"] for c in data["comments"]], ["Nice", "Thanks"])

    def test_delete_post_deletes_its_comments(self):
        post_id = self.post_ids[0]

        resp = self.client.delete(f"/posts/{post_id}")

        self.assertEqual(resp.status_code, 204)
        self.assertRowCount(Post, 2)
        self.assertRowCount(Comment, 0, post_id=post_id)
        self.assertRowCount(Comment, 1)
        self.assertRowCount(Tag, 1)  # tags outlive their posts
        self.assertEqual(self.client.get(f"/posts/{post_id}").status_code, 404)

    def test_delete_unknown_post_is_404(self):
        resp = self.client.delete("/posts/999999")

        self.assertEqual(resp.status_code, 404)
        self.assertRowCount(Post, 3)

    def test_each_test_starts_from_the_class_data(self):
        # Whatever the tests above created or deleted was rolled back.
        self.assertRowCount(User, 2)
        self.assertRowCount(Post, 3)
        self.assertRowCount(Comment, 3)
        self.assertEqual(db.session.get(Post, self.post_ids[0]).title, "One")
