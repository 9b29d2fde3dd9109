from flask_dbtestcase import FlaskDBTestCase

from blog.models import Comment, Post, Tag, User


class SeedCommandTests(FlaskDBTestCase):
    def setUp(self):
        super().setUp()
        self.runner = self.app.test_cli_runner()

    def test_seed_adds_demo_data(self):
        result = self.runner.invoke(args=["blog", "seed"])

        self.assertEqual(result.exit_code, 0, result.output)
        self.assertIn("Seeded 2 users", result.output)
        self.assertRowCount(User, 2)
        self.assertRowCount(Post, 2)
        self.assertRowCount(Tag, 2)
        self.assertRowCount(Comment, 1)

    def test_seed_twice_does_nothing_the_second_time(self):
        self.runner.invoke(args=["blog", "seed"])

        result = self.runner.invoke(args=["blog", "seed"])

        self.assertEqual(result.exit_code, 0, result.output)
        self.assertIn("Already seeded", result.output)
        self.assertRowCount(User, 2)
        self.assertRowCount(Post, 2)

    def test_seed_sees_users_the_test_flushed(self):
        self.session.add(User(username="alice"))
        self.session.flush()

        result = self.runner.invoke(args=["blog", "seed"])

        self.assertIn("Already seeded", result.output)
        self.assertRowCount(User, 1)
        self.assertRowCount(Post, 0)

    def test_init_db_is_harmless_on_an_existing_schema(self):
        self.runner.invoke(args=["blog", "seed"])

        result = self.runner.invoke(args=["blog", "init-db"])

        self.assertEqual(result.exit_code, 0, result.output)
        self.assertRowCount(User, 2)
