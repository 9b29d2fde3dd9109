"""A headless Chromium for the browser tests, in both styles; a screenshot when one fails.

Not a test module (the runner discovers ``test*.py``, pytest ``*_test.py``):
the unittest classes use :class:`BrowserTestMixin`, the pytest functions the
``browser`` fixture in conftest.py. Both drive Debian's ``chromium`` through
``chromium-driver`` (``apt-get install chromium chromium-driver``; ``make
example`` installs them when it runs as root). Where they are missing, the
browser tests are skipped with the reason, printed once.

A failing browser test leaves a screenshot of the page it failed on in
``screenshots/`` beside this directory, or in $BROWSER_SCREENSHOTS:
``<test id>.png``.
"""

import os
import shutil
import sys
import tempfile

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = os.environ.get(
    "BROWSER_SCREENSHOTS",
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "screenshots"),
)
#: How long a test waits for the page to show what it expects (seconds).
WAIT = 10

# Off the closed network: no background requests, no component or sync updates.
_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1024,768",
]
_told = False


def unavailable():
    """Return why no browser can run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium, or the package's test extra)"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return (
                f"{path} not found: install Debian's {package} "
                "(apt-get install chromium chromium-driver; make example does it as root)"
            )
    return None


def skip_reason():
    """Return why the browser tests are skipped (printed once per process), or None."""
    global _told
    reason = unavailable()
    if reason is not None and not _told:
        print(f"\nbrowser tests skipped: {reason}", file=sys.stderr)
        _told = True
    return reason


def start_browser():
    """Start a headless Chromium with a profile of its own (removed when it quits)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="blog-chromium-")
    for flag in [*_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    quit_driver = driver.quit

    def quit():
        try:
            quit_driver()
        finally:
            shutil.rmtree(profile, ignore_errors=True)

    driver.quit = quit
    return driver


def save_screenshot(driver, test_id):
    """Save what the browser shows as ``<test id>.png`` in SCREENSHOTS; return the path."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in test_id)
    path = os.path.join(SCREENSHOTS, f"{name}.png")
    driver.save_screenshot(path)
    print(f"\nscreenshot of the failing browser test: {path}", file=sys.stderr)
    return path


class BrowserTestMixin:
    """For a live server test case class: ``self.browser``, one Chromium for the class.

    Skips the class (with the reason) where no browser can run; saves a
    screenshot of every failing test.
    """

    browser = None

    @classmethod
    def setUpClass(cls):
        reason = skip_reason()
        if reason is not None:
            import unittest

            raise unittest.SkipTest(reason)
        super().setUpClass()
        cls.browser = start_browser()
        cls.addClassCleanup(cls.browser.quit)

    def run(self, result=None):
        if result is None:
            return super().run(result)
        watched = _FailureWatch(result)
        outcome = super().run(watched)
        if watched.failed and self.browser is not None:
            save_screenshot(self.browser, self.id())
        return outcome


class _FailureWatch:
    """A test result (unittest's or pytest's) that notes whether the test failed."""

    def __init__(self, result):
        self._result = result
        self.failed = False

    def __getattr__(self, name):
        return getattr(self._result, name)

    def addFailure(self, *args, **kwargs):
        self.failed = True
        return self._result.addFailure(*args, **kwargs)

    def addError(self, *args, **kwargs):
        self.failed = True
        return self._result.addError(*args, **kwargs)
