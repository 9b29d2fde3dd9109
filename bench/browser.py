"""One browser flow per test: the rolled-back live server, the transactional one, Django's.

    .venv/bin/python bench/browser.py [--tests 8] [--rounds 3]
    bench/.venv-django/bin/python bench/browser.py    # with Django's LiveServerTestCase too

Each test runs the example blog's browser flow (examples/blog/tests/test_browser.py)
in one headless Chromium (Debian's chromium + chromium-driver): the test
creates a user, the browser logs in through the form, publishes a post, sees
it in the list and in the feed page's fetch()-loaded list. Contenders:

- ``rolled back``: ``FlaskDBLiveServerTestCase``: the requests run in the
  test's transaction; the clean-up after each test is one ``ROLLBACK TO``.
- ``transactional``: ``FlaskDBTransactionLiveServerTestCase``: real commits;
  the clean-up is a ``TRUNCATE`` of every table the app has.
- ``django``: Django's ``LiveServerTestCase`` on the same pages
  (bench/djbrowser), where Django is installed (``make bench`` creates
  bench/.venv-django): real commits, a flush (``TRUNCATE`` of every table)
  after each test.

All on one throwaway PostgreSQL server (flask-dbtestcase's, fsync off).
Times are per test, ``test(result)`` as unittest calls it (set-up,
the flow, clean-up; class set-up excluded), the median (min-max) over every
test of every round; the rounds alternate the contenders. "clean-up" is the
part spent after the test's body: the rollback or the TRUNCATE.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "blog")
sys.path[:0] = [EXAMPLE, os.path.join(ROOT, "bench")]  # blog, tests.browser, djbrowser


def run_flow(browser, base_url):
    """The example's browser flow: log in, publish, see the post in the list and the feed."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.browser import WAIT

    def wait_for(css, text):
        WebDriverWait(browser, WAIT, poll_frequency=0.02).until(
            EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text)
        )

    def fill(form, **fields):
        for name, value in fields.items():
            browser.find_element(By.NAME, name).send_keys(value)
        browser.find_element(By.CSS_SELECTOR, f"#{form} button").click()

    browser.get(f"{base_url}/login")
    browser.delete_all_cookies()
    fill("login", username="alice")
    wait_for("#who", "alice")
    fill("write", title="Hello from Chromium", body="Written in a real browser.")
    wait_for("#posts", "Hello from Chromium by alice")
    browser.get(f"{base_url}/feed")
    wait_for("#feed", "Hello from Chromium by alice")


def flask_classes(n):
    from blog import create_app
    from blog.models import Post, User, db
    from flask_dbtestcase.liveserver import (
        FlaskDBLiveServerTestCase,
        FlaskDBTransactionLiveServerTestCase,
    )

    def test(self):
        db.session.add(User(username="alice"))
        db.session.commit()
        run_flow(self.browser, self.live_server_url)
        assert db.session.scalar(db.select(db.func.count(Post.id))) == 1

    def make(name, base):
        attrs = {f"test_{i:03d}": test for i in range(n)}
        attrs.update(app_factory=create_app, schema="create_all", __module__=__name__)
        return type(name, (base,), attrs)

    return {
        "rolled back": make("RolledBackFlow", FlaskDBLiveServerTestCase),
        "transactional": make("TransactionalFlow", FlaskDBTransactionLiveServerTestCase),
    }


def django_class(n, url):
    """Django's LiveServerTestCase on the same flow, or None where Django is not installed."""
    try:
        import django
    except ImportError:
        return None
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    os.environ["BENCH_PG_HOST"] = parsed.query.get("host") or parsed.host or ""
    os.environ["BENCH_PG_PORT"] = str(parsed.port or 5432)
    os.environ["DJANGO_SETTINGS_MODULE"] = "djbrowser.settings"
    django.setup()
    from django.test import LiveServerTestCase

    from djbrowser.models import Post, User

    def test(self):
        User.objects.create(username="alice")
        run_flow(self.browser, self.live_server_url)
        assert Post.objects.count() == 1

    attrs = {f"test_{i:03d}": test for i in range(n)}
    attrs["__module__"] = __name__
    return type("DjangoFlow", (LiveServerTestCase,), attrs)


def time_class(cls, browser, cleanup_name):
    """Run the class's tests one by one; return (per-test seconds, clean-up seconds)."""
    cls.browser = browser
    names = sorted(name for name in dir(cls) if name.startswith("test_"))
    cleanups = []
    original = getattr(cls, cleanup_name)

    def timed(self):
        start = time.perf_counter()
        try:
            return original(self)
        finally:
            cleanups.append(time.perf_counter() - start)

    setattr(cls, cleanup_name, timed)
    cls.setUpClass()
    times = []
    try:
        for name in names:
            result = unittest.TestResult()
            test = cls(name)
            start = time.perf_counter()
            test(result)
            times.append(time.perf_counter() - start)
            if result.errors or result.failures or not result.wasSuccessful():
                problem = (result.errors or result.failures)[0][1]
                raise SystemExit(f"{cls.__name__}.{name} failed:\n{problem}")
    finally:
        cls.tearDownClass()
        cls.doClassCleanups()
        setattr(cls, cleanup_name, original)
    return times, cleanups


def summary(samples):
    ms = sorted(s * 1000 for s in samples)
    return statistics.median(ms), ms[0], ms[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=8, help="tests per class (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per contender (default 3)")
    args = parser.parse_args()

    from tests.browser import start_browser, unavailable

    reason = unavailable()
    if reason is not None:
        raise SystemExit(f"bench/browser.py: no browser here: {reason}")

    from flask_dbtestcase.cases.testdb import ensure_run

    run = ensure_run()  # the throwaway server, stopped when this process exits
    url = run.databases.url.render_as_string(hide_password=False)
    contenders = {name: (cls, "post_teardown") for name, cls in flask_classes(args.tests).items()}
    django_db = None
    dj = django_class(args.tests, url)
    if dj is not None:
        from django.db import connection
        from django.test.utils import setup_test_environment

        setup_test_environment()
        django_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        contenders["django"] = (dj, "_post_teardown")

    browser = start_browser()
    results = {name: ([], []) for name in contenders}
    try:
        for cls, cleanup in contenders.values():
            time_class(cls, browser, cleanup)  # warm-up round, not counted
        for _ in range(args.rounds):
            for name, (cls, cleanup) in contenders.items():
                times, cleanups = time_class(cls, browser, cleanup)
                results[name][0].extend(times)
                results[name][1].extend(cleanups)
    finally:
        browser.quit()
        if django_db is not None:
            from django.db import connection

            connection.creation.destroy_test_db(django_db, verbosity=0)

    base = statistics.median(results["rolled back"][0])
    print(f"\nOne browser flow per test, {args.tests} tests x {args.rounds} rounds per contender")
    print("(login form, publish a post, the list, the fetch()-loaded feed; headless Chromium)\n")
    print("| contender | per test, ms (min-max) | clean-up, ms | vs rolled back |")
    print("|---|---|---|---|")
    for name, (times, cleanups) in results.items():
        med, lo, hi = summary(times)
        clean = summary(cleanups)[0]
        ratio = statistics.median(times) / base
        print(f"| {name} | {med:.1f} ({lo:.1f}-{hi:.1f}) | {clean:.2f} | {ratio:.2f}x |")
    if "django" not in results:
        print("\nDjango is not installed here: run bench/.venv-django/bin/python bench/browser.py")


if __name__ == "__main__":
    main()
