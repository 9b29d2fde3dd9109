"""The browser flow of test_browser.py, pytest style: live_server in a db test.

``live_server`` in a test that uses ``db`` serves the app inside the test's
transaction: the user the test creates is there for the browser, and what
the browser does is rolled back after the test.
"""

import pytest

from blog.models import Post, User
from tests.browser import WAIT

pytest.importorskip("selenium", reason="selenium is not installed (pip install selenium)")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def wait_for_text(browser, css, text):
    WebDriverWait(browser, WAIT, poll_frequency=0.02).until(
        EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text)
    )


def fill(browser, form, **fields):
    for name, value in fields.items():
        browser.find_element(By.NAME, name).send_keys(value)
    browser.find_element(By.CSS_SELECTOR, f"#{form} button").click()


def test_log_in_and_publish_a_post(live_server, db, browser):
    db.session.add(User(username="bob"))
    db.session.commit()

    browser.get(f"{live_server.url}/login")
    fill(browser, "login", username="bob")
    wait_for_text(browser, "#who", "bob")
    fill(browser, "write", title="Hello from pytest")
    wait_for_text(browser, "#posts", "Hello from pytest by bob")

    browser.get(f"{live_server.url}/feed")
    wait_for_text(browser, "#feed", "Hello from pytest by bob")
    assert db.session.scalar(db.select(db.func.count(Post.id))) == 1


def test_nothing_left_from_another_test(live_server, db, browser):
    assert db.session.scalars(db.select(User)).all() == []
    browser.get(f"{live_server.url}/feed")
    wait_for_text(browser, "#status", "0 post(s)")
    assert browser.find_elements(By.CSS_SELECTOR, "#feed li") == []
