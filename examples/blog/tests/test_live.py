import json
import urllib.request

from flask_dbtestcase.liveserver import (
    FlaskDBLiveServerTestCase,
    FlaskDBTransactionLiveServerTestCase,
)

from blog.models import User


def signup(base_url, username):
    request = urllib.request.Request(
        f"{base_url}/users",
        data=json.dumps({"username": username}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        return resp.status


class LiveServerTests(FlaskDBLiveServerTestCase):
    """The app on a real port, in the test's transaction: rolled back after each test."""

    def test_signup_over_http(self):
        self.assertEqual(signup(self.live_server_url, "dora"), 201)
        # The request committed inside the test's transaction: the test sees it.
        self.assertRowCount(User, 1, username="dora")

    def test_nothing_left_from_the_other_test(self):
        self.assertRowCount(User, 0)


class CommittingLiveServerTests(FlaskDBTransactionLiveServerTestCase):
    """The transactional kind: the request really commits; the tables are emptied after."""

    def test_signup_really_commits(self):
        self.assertEqual(signup(self.live_server_url, "erin"), 201)
        self.assertRowCount(User, 1, username="erin")
