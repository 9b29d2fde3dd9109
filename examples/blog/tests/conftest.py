"""pytest fixtures of the example's own: ``browser``, a headless Chromium for the session."""

import pytest

from tests.browser import save_screenshot, skip_reason, start_browser


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_call_failed = report.failed
    return report


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the session (each xdist worker has its own)."""
    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    driver = start_browser()
    yield driver
    driver.quit()


@pytest.fixture
def browser(request, chromium):
    """The session's Chromium, logged out; a screenshot is saved if the test fails."""
    chromium.delete_all_cookies()
    yield chromium
    if getattr(request.node, "browser_call_failed", False):
        save_screenshot(chromium, request.node.nodeid)
