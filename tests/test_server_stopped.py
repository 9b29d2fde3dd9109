"""The run's own throwaway server stopped from outside mid-run (issue 16).

The run says that the framework's own server stopped, with the reason from
its log, and names the tests it broke, instead of "Could not connect ...
Check that the server is running" as if the user's server were at fault; a
run none of whose tests it broke passes.
"""

from __future__ import annotations

import unittest

from flask_dbtestcase import tag
from tests.test_faults import HANG_GUARD, fault_project

STOPS = """
import signal
import unittest

def stop_server(url, sig):
    # A connection of its own (an engine on the test database would get the test's).
    import psycopg2
    url = sa.make_url(url)
    args = url.translate_connect_args(username="user", database="dbname")
    conn = psycopg2.connect(**args, **url.query)
    with conn.cursor() as cur:
        cur.execute("SHOW data_directory")
        data = cur.fetchone()[0]
    conn.close()
    with open(os.path.join(data, "postmaster.pid")) as f:
        pid = int(f.readline())
    os.kill(pid, sig)
    deadline = time.monotonic() + 10
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.01)

def gone(pid):  # exited (a zombie until the runner, its parent, reaps it)
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True

def stop_here(name):
    if os.environ.get("STOP_AT") == name:
        url = db.engine.url.render_as_string(hide_password=False)
        stop_server(url, signal.SIGINT)  # as pg_ctl stop (-m fast) does

class A(FlaskDBTestCase):
    app_factory = "myapp:create_app"
    def test_1_passes(self):
        self.assertEqual(Thing.query.count(), 0)
    def test_2_may_stop_the_server(self):
        stop_here("A")

class B(FlaskDBTestCase):
    app_factory = "myapp:create_app"
    def test_needs_the_database(self):
        self.assertEqual(Thing.query.count(), 0)

class Last(unittest.TestCase):  # plain test cases run after the database classes
    def test_kills_the_server_after_the_database_tests(self):
        if os.environ.get("STOP_AT") == "end":
            stop_server(os.environ["FLASK_DBTESTCASE_DATABASE_URL"], signal.SIGKILL)
"""


class ServerStoppedTests(unittest.TestCase):
    def run_stopping(self, stop_at, *options):
        project = fault_project(self, {"test_stops.py": STOPS})
        return project.run(
            ["-p", "test_stops.py", *options], env={**HANG_GUARD, "STOP_AT": stop_at}
        )

    def assertReported(self, result):
        self.assertIn(
            "The throwaway PostgreSQL server that flask-dbtestcase started for this run "
            "stopped during the run",
            result.stderr,
        )
        self.assertNotIn("Check that the server is running", result.stderr)
        self.assertNotIn("error: ", result.stderr)  # no clean-up error on top

    @tag("slow")
    def test_stopped_mid_run(self):
        result = self.run_stopping("A")
        self.assertEqual(result.returncode, 1, result)  # tests broke; not a set-up error
        self.assertReported(result)
        self.assertIn("its log says 'received fast shutdown request'", result.stderr)
        # A's class connection died with the server; B could not connect.
        self.assertIn(
            "The tests it broke (2): tearDownClass (test_stops.A), setUpClass (test_stops.B). "
            "Run them again.",
            result.stderr,
        )
        self.assertEqual(result.last_line, "3 passed, 2 failed")

    @tag("slow")
    def test_stopped_mid_run_with_parallel_workers(self):
        result = self.run_stopping("A", "--parallel", "2")
        self.assertEqual(result.returncode, 1, result)
        self.assertReported(result)
        self.assertIn("The tests it broke", result.stderr)
        self.assertIn("tearDownClass (test_stops.A)", result.stderr)

    def test_stopped_after_the_tests_needing_it_breaks_nothing(self):
        result = self.run_stopping("end")
        self.assertEqual(result.returncode, 0, result)
        self.assertReported(result)
        self.assertIn("it was killed by SIGKILL, with nothing in its log", result.stderr)
        self.assertIn("No test was broken by it.", result.stderr)
        self.assertEqual(result.last_line, "4 passed, 0 failed")
        self.assertLess(result.elapsed, 20)

    def test_stopped_under_unittest_is_said_and_replaced(self):
        project = fault_project(self, {"test_stops.py": STOPS})
        result = project.run_here(
            ["test_stops"], "unittest", outside=True, env={**HANG_GUARD, "STOP_AT": "A"}
        )
        self.assertIn(
            "the throwaway PostgreSQL server it started for this process stopped (its log "
            "says 'received fast shutdown request')",
            result.stderr,
        )
        self.assertNotIn("Check that the server is running", result.stderr)
        # B ran on the new server and passed: only A's class clean-up broke.
        self.assertIn("Ran 4 tests", result.stderr)
        self.assertIn("FAILED (errors=1)", result.stderr)
        self.assertIn("ERROR: tearDownClass (test_stops.A)", result.stderr)

    def test_a_run_that_stops_nothing_says_nothing(self):
        result = self.run_stopping("nowhere")
        self.assertEqual(result.returncode, 0, result)
        self.assertNotIn("throwaway PostgreSQL server", result.stderr)


if __name__ == "__main__":
    unittest.main()
