"""The pytest plugin's fault guarantees: after Ctrl-C, kill -9 or a crashed xdist
worker, nothing is left (the throwaway server, its directory, the databases).

Each run has a private runtime directory, so "nothing left" is exact.
"""

from __future__ import annotations

import importlib.util
import signal
import textwrap
import time
import unittest

from flask_dbtestcase import tag
from tests.support import Project, wait_until

HAVE_PYTEST = importlib.util.find_spec("pytest") is not None
HAVE_XDIST = importlib.util.find_spec("xdist") is not None

APP = """
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Thing(db.Model):
    __tablename__ = "fault_things"
    id = sa.Column(sa.Integer, primary_key=True)


def create_app(config=None):
    app = Flask(__name__)
    app.config.update(config or {})
    db.init_app(app)
    return app
"""

SLEEPER = """
import time

from myapp import Thing


def test_sleeps(db):
    assert Thing.query.count() == 0
    print("READY", flush=True)
    time.sleep(60)
"""

QUICK = """
from myapp import Thing


def test_quick(db):
    assert Thing.query.count() == 0
"""

CRASH = """
import os

from myapp import Thing


def test_crashes_its_worker(db):
    db.session.add(Thing())
    db.session.commit()
    os._exit(1)
"""


@tag("slow")
@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed (pip install -e '.[test]')")
class PluginFaultTests(unittest.TestCase):
    def project(self, **tests: str) -> Project:
        files = {
            "myapp.py": APP,
            "pyproject.toml": '[tool.flask-dbtestcase]\napp_factory = "myapp:create_app"\n',
        }
        files.update({f"{name}.py": textwrap.dedent(text) for name, text in tests.items()})
        return Project(self, files, module="pytest", timeout=120, private_runtime=True)

    def start_sleeper(self, project: Project):
        proc = project.popen(
            ["-s", "-p", "no:cacheprovider", "-p", "no:randomly", "test_sleeper.py"]
        )
        deadline = time.monotonic() + 60
        line = ""
        while "READY" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                self.fail(f"pytest ended before the test ran: {proc.stderr.read()}")
        self.assertIn("READY", line)
        self.assertTrue(project.postgres_processes(), "no server was running")
        return proc

    def test_ctrl_c(self):
        project = self.project(test_sleeper=SLEEPER)
        proc = self.start_sleeper(project)
        proc.send_signal(signal.SIGINT)
        result = project.finish(proc, time.monotonic(), timeout=60)
        self.assertEqual(result.returncode, 2, result)  # pytest's "interrupted"
        project.assertNothingLeft(result)

    def test_sigterm(self):
        project = self.project(test_sleeper=SLEEPER)
        proc = self.start_sleeper(project)
        proc.send_signal(signal.SIGTERM)
        result = project.finish(proc, time.monotonic(), timeout=60)
        self.assertEqual(result.returncode, 2, result)  # stopped as by Ctrl-C
        project.assertNothingLeft(result)

    def test_kill_9_then_the_next_run_removes_the_rest(self):
        project = self.project(test_sleeper=SLEEPER, test_quick=QUICK)
        proc = self.start_sleeper(project)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        # The postmaster dies with its owner; its directory waits for the next run.
        self.assertTrue(wait_until(lambda: not project.postgres_processes(), 10))
        result = project.run(["-p", "no:cacheprovider", "-p", "no:randomly", "test_quick.py"])
        self.assertEqual(result.returncode, 0, result)
        project.assertNothingLeft(result)

    @unittest.skipUnless(HAVE_XDIST, "pytest-xdist is not installed")
    def test_a_crashed_xdist_worker(self):
        project = self.project(test_crash=CRASH, test_quick=QUICK)
        result = project.run(["-p", "no:cacheprovider", "-p", "no:randomly", "-n", "2"])
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("crashed", result.output)
        self.assertIn("1 passed", result.output)
        project.assertNothingLeft(result)


if __name__ == "__main__":
    unittest.main()
