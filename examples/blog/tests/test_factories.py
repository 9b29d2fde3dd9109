"""Test data from factory_boy factories instead of hand-built objects.

The whole recipe is the abstract ``BaseFactory`` below: its
``sqlalchemy_session_factory`` returns ``db.session``, Flask-SQLAlchemy's
scoped session, which is resolved at each call from the current app context,
so the factories use the test's own session, in ``setUpTestData`` and in
every test. ``sqlalchemy_session_persistence = "flush"`` gives every object
its id and makes its rows visible to requests made with ``self.client``;
``"commit"`` works too. Either way, everything a factory creates in a test is
rolled back after it, and what ``setUpTestData`` creates is the class data
each test starts from.

In a real project the factories live in their own module
(``tests/factories.py``) and are imported by the tests.
"""

import unittest

try:
    import factory
    from factory.alchemy import SQLAlchemyModelFactory
except ImportError:  # factory_boy is optional for this example
    raise unittest.SkipTest("factory_boy is not installed: pip install factory_boy") from None

from flask_dbtestcase import FlaskDBTestCase

from blog.models import Comment, Post, Tag, User, db


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")


class TagFactory(BaseFactory):
    class Meta:
        model = Tag

    name = factory.Sequence(lambda n: f"tag{n}")


class PostFactory(BaseFactory):
    class Meta:
        model = Post

    author = factory.SubFactory(UserFactory)
    title = factory.Faker("sentence", nb_words=4)
    body = factory.Faker("paragraph")


class CommentFactory(BaseFactory):
    class Meta:
        model = Comment

    post = factory.SubFactory(PostFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Faker("sentence")


class CommittingUserFactory(UserFactory):
    """The same factory with persistence "commit": also rolled back after the test."""

    class Meta:
        sqlalchemy_session_persistence = "commit"


class FactoryTests(FlaskDBTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.alice = UserFactory(username="alice")
        cls.post = PostFactory(author=cls.alice, title="Hello", tags=[TagFactory(name="flask")])
        CommentFactory.create_batch(2, post=cls.post)
        db.session.commit()

    def setUp(self):
        # Every test starts from exactly the class data.
        self.assertRowCount(User, 3)  # alice and the two comments' authors
        self.assertRowCount(Post, 1)
        self.assertRowCount(Comment, 2)
        self.assertRowCount(Tag, 1)

    def test_class_data_through_the_api(self):
        resp = self.client.get(f"/posts/{self.post.id}")

        self.assertEqual(resp.status_code, 200)
        data = resp.get_json()
        self.assertEqual((data["title"], data["author"]), ("Hello", "alice"))
        self.assertEqual(data["tags"], ["flask"])
        self.assertEqual(len(data["comments"]), 2)

    def test_more_posts_from_a_batch(self):
        PostFactory.create_batch(3, author=self.alice)

        resp = self.client.get("/posts")

        self.assertEqual(len(resp.get_json()), 4)
        self.assertEqual(self.client.get(f"/users/{self.alice.id}").get_json()["post_count"], 4)

    def test_sub_factories_create_related_rows(self):
        comment = CommentFactory()

        self.assertRowCount(Post, 2)
        self.assertRowCount(User, 5)  # the new post's author and the comment's
        resp = self.client.get(f"/posts/{comment.post.id}")
        self.assertEqual(resp.get_json()["comments"][0]["body"], comment.body)

    def test_factory_user_writes_through_the_api(self):
        bob = UserFactory(username="bob")

        resp = self.client.post(
            "/posts", json={"user_id": bob.id, "title": "Mine", "tags": ["flask", "new"]}
        )

        self.assertEqual(resp.status_code, 201)
        self.assertRowCount(Post, 1, user_id=bob.id)
        self.assertRowCount(Tag, 2)

    def test_committing_factory_is_rolled_back_too(self):
        CommittingUserFactory(username="carol")

        resp = self.client.post("/users", json={"username": "carol"})

        self.assertEqual(resp.status_code, 409)
        self.assertRowCount(User, 4)

    def test_build_makes_objects_without_rows(self):
        post = PostFactory.build()  # its author is built too, not created

        self.assertIsNone(post.id)
        self.assertIsNone(post.author.id)
        self.assertNotIn(post, db.session)
        self.assertRowCount(Post, 1)
