"""The Flask side as in production, in pairs: each test does it and checks nothing leaked.

Every test here first checks that no earlier test (of this class or of
another) left its mark, then leaves its own: whatever the order (file order,
reversed, shuffled, split over ``--parallel`` workers) the second one to run
catches a leak. tests/test_flask_side.py runs this module in the project's
own suite and, in subprocesses, under the runner (shuffled, reversed,
``--parallel 2``), ``python -m unittest`` and pytest.
"""

from __future__ import annotations

import unittest
from wsgiref.util import setup_testing_defaults

import sqlalchemy as sa
from flask import g
from flask_sqlalchemy.record_queries import get_recorded_queries
from webtest import TestApp

from flask_dbtestcase import FlaskDBTestCase, FlaskDBTransactionTestCase
from flask_dbtestcase.cases.testdb import current_database_url
from flask_dbtestcase.databases.urls import same_database
from tests.flaskside.fsapp import COMMITS, FACTORY_CALLS, Config, Member, Report, db

FACTORY = "tests.flaskside.fsapp:create_app"


def raw_wsgi_get(app, path: str, cookie: str | None = None) -> str:
    """GET ``path`` by calling the WSGI app directly, as a WSGI server would."""
    environ: dict = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    setup_testing_defaults(environ)
    body = app(environ, lambda status, headers, exc_info=None: None)
    try:
        return b"".join(body).decode()
    finally:
        getattr(body, "close", lambda: None)()


class AppContextPerTest:
    """Mixed into both kinds of test case: each test has an app context of its own."""

    def check_and_leave_marks(self):
        self.assertNotIn("leak", g, "flask.g kept what an earlier test put there")
        g.leak = self.id()
        self.assertEqual(self.app.config["FLAG"], "original", "app.config kept a test's change")
        self.app.config["FLAG"] = f"changed by {self.id()}"
        self.app.config["ADDED_BY_A_TEST"] = True

    def test_marks_1(self):
        self.check_and_leave_marks()

    def test_marks_2(self):
        self.check_and_leave_marks()

    def test_no_key_added_by_another_test(self):
        self.assertNotIn("ADDED_BY_A_TEST", self.app.config)
        self.check_and_leave_marks()

    def test_recorded_queries_are_the_tests_own(self):
        self.assertEqual(get_recorded_queries(), [], "the framework's SQL was recorded")
        db.session.scalar(sa.select(sa.func.count()).select_from(Member))
        self.assertEqual(len(get_recorded_queries()), 1)

    def test_requests_have_their_own_g_and_session(self):
        g.marker = "the test's"
        self.assertEqual(self.client.get("/g").json, [])
        own = db.session()  # alive during the request: its address cannot be reused
        self.assertNotEqual(self.client.get("/session-id").text, str(id(own)))
        webtest = TestApp(self.app)
        self.assertEqual(webtest.get("/g").json, [])
        self.assertEqual(raw_wsgi_get(self.app, "/g"), "[]\n")

    def test_a_fresh_client_is_not_logged_in(self):
        self.client.set_cookie("user", "alice")
        self.assertEqual(self.client.get("/whoami").text, "alice")
        self.assertEqual(TestApp(self.app).get("/whoami").text, "anonymous")
        self.assertEqual(raw_wsgi_get(self.app, "/whoami", "user=bob"), "bob")
        self.assertEqual(raw_wsgi_get(self.app, "/whoami"), "anonymous")
        webtest = TestApp(self.app)
        webtest.set_cookie("user", "carol")
        self.assertEqual(webtest.get("/whoami").text, "carol")
        self.assertEqual(self.app.test_client().get("/whoami").text, "anonymous")


class ClassConfigMarks:
    """A class whose setUpClass changes app.config: the change ends with the class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.flag_before = cls.app.config["FLAG"]
        cls.app.config["FLAG"] = f"changed by {cls.__name__}"

    def test_the_class_change_is_seen_and_the_earlier_ones_are_gone(self):
        self.assertEqual(self.flag_before, "original", "an earlier class's config change stayed")
        self.assertEqual(self.app.config["FLAG"], f"changed by {type(self).__name__}")


class FlaskSideTests(AppContextPerTest, FlaskDBTestCase):
    app_factory = FACTORY

    @classmethod
    def setUpTestData(cls):
        cls.member = Member(name="old")
        db.session.add(cls.member)

    def test_the_factory_ran_once_and_a_commit_is_seen_once(self):
        self.assertEqual(len(FACTORY_CALLS), 1, "the app factory ran for more than one class")
        before = len(COMMITS)
        self.assertEqual(self.client.post("/members", json={"name": "x"}).status_code, 201)
        self.assertEqual(COMMITS[before:], ["insert"])

    def test_objects_are_fresh_after_a_request(self):
        self.assertEqual(self.member.name, "old")
        copy = db.session.get(Member, self.member.id)
        self.client.post(f"/members/{self.member.id}/rename", json={"name": "new"})
        self.assertEqual(self.member.name, "new")
        self.assertEqual(copy.name, "new")
        self.assertEqual(db.session.get(Member, self.member.id).name, "new")
        self.assertEqual(db.session.scalar(sa.select(Member.name)), "new")

    def test_unflushed_changes_are_kept_after_a_request(self):
        self.member.email = "mine@example.com"
        self.assertEqual(self.client.get("/members/count").text, "1")
        self.client.post(f"/members/{self.member.id}/rename", json={"name": "renamed"})
        self.assertEqual(self.member.email, "mine@example.com")
        self.assertEqual(self.member.name, "renamed")

    def test_a_request_does_not_see_the_tests_unflushed_objects(self):
        db.session.add(Member(name="pending"))
        self.assertEqual(self.client.get("/members/count").text, "1")

    def test_the_class_data_is_intact(self):
        self.assertEqual(db.session.scalars(sa.select(Member.name)).all(), ["old"])
        self.assertEqual(db.session.scalar(sa.select(sa.func.count()).select_from(Report)), 0)

    def test_a_replica_bind_is_the_default_test_database(self):
        main = current_database_url()
        replica = db.engines["replica"]
        self.assertTrue(same_database(replica.url, main), replica.url)
        self.assertFalse(same_database(db.engines["reports"].url, main))
        db.session.add(Member(name="written"))
        db.session.flush()
        with replica.connect() as conn:  # the same connection: the row is visible
            names = conn.scalars(sa.select(Member.name).order_by(Member.name)).all()
        self.assertEqual(names, ["old", "written"])

    def test_reports_write_and_roll_back(self):
        self.assertEqual(db.session.scalar(sa.select(sa.func.count()).select_from(Report)), 0)
        db.session.add(Report(title="q1"))
        db.session.commit()


class ClientInClassHooksTests(FlaskDBTestCase):
    """``cls.client`` in setUpTestData: its requests' commits are the class's data."""

    app_factory = FACTORY

    @classmethod
    def setUpTestData(cls):
        response = cls.client.post("/members", json={"name": "from a class request"})
        cls.member_id = response.json["id"]

    def test_the_class_request_made_class_data(self):
        self.assertEqual(db.session.get(Member, self.member_id).name, "from a class request")
        db.session.add(Member(name="mine"))
        db.session.commit()

    def test_and_nothing_else(self):
        self.assertEqual(db.session.scalars(sa.select(Member.name)).all(), ["from a class request"])
        self.client.post("/members", json={"name": "from a test request"})


class ClassConfigTestsA(ClassConfigMarks, FlaskDBTestCase):
    app_factory = FACTORY


class ClassConfigTestsB(ClassConfigMarks, FlaskDBTestCase):
    app_factory = FACTORY


class TransactionFlaskSideTests(AppContextPerTest, FlaskDBTransactionTestCase):
    app_factory = FACTORY

    def test_commits_are_real_and_emptied_after(self):
        self.assertEqual(self.client.get("/members/count").text, "0")
        self.client.post("/members", json={"name": "committed"})
        self.assertEqual(db.session.scalar(sa.select(Member.name)), "committed")


class ExplicitMirrorTests(FlaskDBTestCase):
    """``mirrors`` on the class: the reports bind uses the default test database."""

    app_factory = "tests.flaskside.fsapp:create_plain_app"
    mirrors = {"reports": "default"}

    def test_reports_is_the_default_test_database(self):
        self.assertTrue(same_database(db.engines["reports"].url, current_database_url()))
        self.assertEqual(Config.SQLALCHEMY_BINDS["reports"][-13:], "fsapp_reports")


if __name__ == "__main__":
    unittest.main()
