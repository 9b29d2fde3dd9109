"""FlaskDBTestCase classes under pytest (and pytest-xdist), run as a user would.

Each test writes a small project to a temporary directory and runs pytest on
it in a subprocess. The project's tests append one JSON line per test to a
record file: which process ran it, which throwaway server and database it
used, and how many server directories that process had. From those lines
the tests here check that:

- pytest collects and runs the unittest-style classes, with the same
  isolation as unittest (a test that commits, through the session and
  through a request, and a test that must see only the class's data), in
  file order and reversed;
- one pytest session starts one throwaway server, shared by every class;
- with ``-n 2`` each xdist worker has its own server and database;
- nothing is left behind: no server directory, no postgres process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import textwrap
import unittest

from flask_dbtestcase import tag
from tests.support import Project, Result, app_source, assert_nothing_left

HAVE_PYTEST = importlib.util.find_spec("pytest") is not None
HAVE_XDIST = importlib.util.find_spec("xdist") is not None

# The app, with a view that commits (create_app of the template, plus a route).
APP = app_source(
    "fdt_pytest_thing",
    extra="""
from flask import jsonify, request

_create_app = create_app

def create_app(config=None):
    app = _create_app(config)

    @app.post("/things")
    def add_thing():
        db.session.add(Thing(name=request.json["name"]))
        db.session.commit()
        return jsonify(ok=True), 201

    return app
""",
)

# Reverses the collected order when REVERSE=1: pytest has no --reverse.
CONFTEST = """
import os

def pytest_collection_modifyitems(items):
    if os.environ.get("REVERSE") == "1":
        items.reverse()
"""

# One module of the user's suite; {n} makes several distinct classes.
TESTS = """
import json
import os

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase
from flask_dbtestcase.cases.testdb import ensure_run
from flask_dbtestcase.postgres.directories import runtime_dir
from flask_dbtestcase.settings import Settings
from flask_dbtestcase.cases.testdb import current_database_url
from myapp import Thing, db


class ThingTests{n}(FlaskDBTestCase):
    app_factory = "myapp:create_app"

    @classmethod
    def setUpTestData(cls):
        db.session.add(Thing(name="class-{n}"))
        db.session.commit()

    def record(self, **fields):
        pid = os.getpid()
        fields.update(
            test=self.id(),
            pid=pid,
            worker=os.environ.get("PYTEST_XDIST_WORKER"),
            base_dir=ensure_run().databases.server.base_dir,
            database=current_database_url().render_as_string(hide_password=False),
            data_directory=self.session.execute(sa.text("SHOW data_directory")).scalar(),
            server_dirs=len(
                [
                    d
                    for d in os.listdir(runtime_dir(Settings.load().server_config()))
                    if d.startswith(f"srv-{{pid}}-")
                ]
            ),
        )
        with open(os.environ["RECORD_FILE"], "a") as f:
            f.write(json.dumps(fields) + "\\n")

    def names(self):
        return sorted(self.session.scalars(sa.select(Thing.name)))

    def test_a_commits(self):
        db.session.add(Thing(name="committed-{n}"))
        db.session.commit()
        resp = self.client.post("/things", json={{"name": "posted-{n}"}})
        self.assertEqual(resp.status_code, 201)
        self.assertEqual(self.names(), ["class-{n}", "committed-{n}", "posted-{n}"])
        self.record(names=self.names())

    def test_b_sees_only_the_class_data(self):
        self.assertEqual(self.names(), ["class-{n}"])
        self.record(names=self.names())
"""


@tag("slow")
@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed (pip install -e '.[test]')")
class PytestTests(unittest.TestCase):
    """Each test runs pytest on a project of its own, except that the
    forward run of the three-class project is made once and looked at by
    the two tests that need it (whichever runs first makes it)."""

    maxDiff = None
    _forward: tuple[Result, list[dict]] | None = None

    def write_project(self, classes: int = 2) -> None:
        files = {"myapp.py": APP, "conftest.py": CONFTEST, "pytest.ini": "[pytest]\n"}
        for n in range(1, classes + 1):
            files[f"test_things_{n}.py"] = textwrap.dedent(TESTS.format(n=n))
        self.project = Project(self, files, module="pytest", timeout=300)
        self.record_file = os.path.join(self.project.dir, "records.jsonl")

    def run_pytest(self, *args: str, reverse: bool = False) -> tuple[Result, list[dict]]:
        if os.path.exists(self.record_file):
            os.remove(self.record_file)
        result = self.project.run(
            ["-p", "no:randomly", "-p", "no:cacheprovider", "-v", *args],
            env={"RECORD_FILE": self.record_file, "REVERSE": "1" if reverse else "0"},
        )
        records = []
        if os.path.exists(self.record_file):
            with open(self.record_file) as f:
                records = [json.loads(line) for line in f]
        self.assertNothingLeft({r["pid"] for r in records})
        return result, records

    def forward_run(self) -> tuple[Result, list[dict]]:
        """pytest on three classes, in file order."""
        if PytestTests._forward is None:
            self.write_project(classes=3)
            PytestTests._forward = self.run_pytest()
        return PytestTests._forward

    def assertNothingLeft(self, pids) -> None:
        for pid in pids:
            assert_nothing_left(self, pid)

    def test_isolation_in_file_order_and_reversed(self):
        forward = self.forward_run()
        self.write_project(classes=3)
        runs = {False: forward, True: self.run_pytest(reverse=True)}
        for reverse, (result, records) in runs.items():
            with self.subTest(reverse=reverse):
                self.assertEqual(result.returncode, 0, result.output)
                self.assertIn("6 passed", result.output)
                order = [r["test"].rsplit(".", 1)[1] for r in records]
                first, second = ("test_b", "test_a") if reverse else ("test_a", "test_b")
                self.assertTrue(order[0].startswith(first), order)
                self.assertTrue(order[1].startswith(second), order)
                self.assertEqual(len(records), 6)
                for r in records:
                    n = r["test"].split("ThingTests")[1][0]
                    if "test_a_commits" in r["test"]:
                        self.assertEqual(
                            r["names"], [f"class-{n}", f"committed-{n}", f"posted-{n}"]
                        )
                    else:
                        self.assertEqual(
                            r["names"], [f"class-{n}"], "a commit leaked between tests"
                        )

    def test_one_server_for_the_whole_session(self):
        result, records = self.forward_run()
        self.assertEqual(result.returncode, 0, result.output)
        self.assertIn("6 passed", result.output)
        self.assertEqual(len(records), 6)
        self.assertEqual(
            {r["pid"] for r in records},
            {result.pid},
            "the tests did not all run in pytest's process",
        )
        self.assertEqual(
            len({r["base_dir"] for r in records}), 1, "more than one server was started"
        )
        self.assertEqual(len({r["data_directory"] for r in records}), 1)
        self.assertEqual(len({r["database"] for r in records}), 1)
        self.assertEqual(
            {r["server_dirs"] for r in records},
            {1},
            "the process had more than one server directory",
        )
        self.assertTrue(records[0]["data_directory"].startswith(records[0]["base_dir"]))

    @unittest.skipUnless(HAVE_XDIST, "pytest-xdist is not installed (pip install -e '.[test]')")
    def test_xdist_workers_get_their_own_server(self):
        self.write_project(classes=4)
        result, records = self.run_pytest("-n", "2")
        self.assertEqual(result.returncode, 0, result.output)
        self.assertIn("8 passed", result.output)
        self.assertEqual(len(records), 8)
        workers = {r["worker"] for r in records}
        self.assertEqual(workers, {"gw0", "gw1"}, "both workers should have run tests")
        by_worker = {w: [r for r in records if r["worker"] == w] for w in workers}
        for worker, rows in by_worker.items():
            self.assertEqual(len({r["pid"] for r in rows}), 1, worker)
            self.assertEqual(
                len({r["base_dir"] for r in rows}), 1, f"{worker} started more than one server"
            )
            self.assertEqual({r["server_dirs"] for r in rows}, {1})
        servers = [by_worker[w][0] for w in sorted(workers)]
        self.assertNotEqual(servers[0]["pid"], servers[1]["pid"])
        self.assertNotEqual(
            servers[0]["base_dir"], servers[1]["base_dir"], "the workers shared a server"
        )
        self.assertNotEqual(servers[0]["data_directory"], servers[1]["data_directory"])
        self.assertNotEqual(servers[0]["database"], servers[1]["database"])


if __name__ == "__main__":
    unittest.main()
