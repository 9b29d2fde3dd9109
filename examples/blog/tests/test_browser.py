"""A real browser against the live server, unittest style (Selenium, headless Chromium).

The test creates a user in the database; Chromium logs in through the form,
publishes a post, finds it in the list and in the feed that the page loads
with fetch(). Every request the browser makes runs in the test's
transaction, so the next test (in any order) finds none of it.
"""

from flask_dbtestcase.liveserver import FlaskDBLiveServerTestCase

from blog.models import Post, User, db
from tests.browser import WAIT, BrowserTestMixin


class BrowserTests(BrowserTestMixin, FlaskDBLiveServerTestCase):
    def setUp(self):
        self.open("/login")
        self.browser.delete_all_cookies()  # logged out: cookies outlive the test's data

    def open(self, path):
        self.browser.get(self.live_server_url + path)

    def wait_for_text(self, css, text):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.browser, WAIT, poll_frequency=0.02).until(
            EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text)
        )

    def fill(self, form, **fields):
        from selenium.webdriver.common.by import By

        for name, value in fields.items():
            self.browser.find_element(By.NAME, name).send_keys(value)
        self.browser.find_element(By.CSS_SELECTOR, f"#{form} button").click()

    def test_log_in_and_publish_a_post(self):
        db.session.add(User(username="alice"))
        db.session.commit()  # rolled back after the test, with everything the browser does

        self.open("/login")
        self.fill("login", username="alice")
        self.wait_for_text("#who", "alice")
        self.fill("write", title="Hello from Chromium", body="Written in a real browser.")
        self.wait_for_text("#posts", "Hello from Chromium by alice")

        self.open("/feed")  # the page, its CSS and script, then fetch("/posts")
        self.wait_for_text("#status", "1 post(s)")
        self.wait_for_text("#feed", "Hello from Chromium by alice")
        self.assertRowCount(Post, 1, title="Hello from Chromium")

    def test_nothing_left_from_another_test(self):
        from selenium.webdriver.common.by import By

        self.assertRowCount(User, 0)
        self.open("/list")
        self.wait_for_text("#empty", "No posts yet.")
        self.open("/feed")
        self.wait_for_text("#status", "0 post(s)")
        self.assertEqual(self.browser.find_elements(By.CSS_SELECTOR, "#feed li"), [])
        self.open("/login")
        self.fill("login", username="alice")
        self.wait_for_text("#error", "No user named 'alice'.")
