import json
import urllib.request

from flask_dbtestcase.liveserver import FlaskDBLiveServerTestCase

from blog.models import User


class LiveServerTests(FlaskDBLiveServerTestCase):
    """The app on a real port, for HTTP clients or a browser driven by Selenium/Playwright."""

    def test_signup_over_http(self):
        request = urllib.request.Request(
            f"{self.live_server_url}/users",
            data=json.dumps({"username": "dora"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            self.assertEqual(resp.status, 201)
        # The request really committed; the tables are emptied after the test.
        self.assertRowCount(User, 1, username="dora")
