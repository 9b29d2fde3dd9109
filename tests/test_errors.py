"""Failure paths of the test case classes, run as a user would: `python -m unittest`.

Each test writes a tiny project to a temporary directory, runs it in a
subprocess (so it starts its own throwaway server, as a user's would), and
checks the one-paragraph error, the exit code, and that nothing was left
behind: no server directory, no postgres process, nothing created on a
database that is not a test database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

import psycopg2

from flask_dbtestcase.server import runtime_dir

SYSTEM_SERVER = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"

APP = '''
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

class Base(DeclarativeBase):
    pass

db = SQLAlchemy(model_class=Base)

class Thing(db.Model):
    __tablename__ = "fdt_error_probe_thing"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(20), unique=True)

def create_app(config=None):
    app = Flask(__name__)
    app.config.update(config or {})
    db.init_app(app)
    return app
'''


def system_server_available() -> bool:
    try:
        psycopg2.connect(SYSTEM_SERVER, connect_timeout=3).close()
    except psycopg2.Error:
        return False
    return True


class ProjectRun:
    """A throwaway project directory and one `python -m unittest` run of it."""

    def __init__(self, tests: str, app: str = APP, env: dict[str, str] | None = None, extra: dict[str, str] | None = None):
        self.dir = tempfile.TemporaryDirectory()
        files = {"myapp.py": app, "test_it.py": textwrap.dedent(tests), **(extra or {})}
        for name, text in files.items():
            with open(os.path.join(self.dir.name, name), "w") as f:
                f.write(text)
        run_env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_DBTESTCASE", "FLASK_APP", "TEST_DATABASE"))}
        run_env.update(env or {})
        with subprocess.Popen(
            [sys.executable, "-m", "unittest", "test_it"],
            cwd=self.dir.name, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ) as self.proc:
            self.output, _ = self.proc.communicate(timeout=120)
        self.dir.cleanup()


class ErrorTests(unittest.TestCase):
    def assertNothingLeft(self, pid: int) -> None:
        left = [name for name in os.listdir(runtime_dir()) if name.startswith(f"srv-{pid}-")]
        self.assertEqual(left, [], "a server directory was left behind")
        for proc in os.listdir("/proc"):
            if proc.isdigit():
                try:
                    with open(f"/proc/{proc}/cmdline", "rb") as f:
                        cmdline = f.read()
                except OSError:
                    continue
                self.assertNotIn(f"srv-{pid}-".encode(), cmdline, "a postgres process was left running")

    def run_project(self, tests: str, **kwargs) -> ProjectRun:
        run = ProjectRun(tests, **kwargs)
        self.assertNothingLeft(run.proc.pid)
        return run

    def assertFailsWith(self, run: ProjectRun, *fragments: str) -> None:
        self.assertNotEqual(run.proc.returncode, 0, run.output)
        for fragment in fragments:
            self.assertIn(fragment, run.output)

    def test_factory_module_not_importable(self):
        run = self.run_project('''
            from flask_dbtestcase import FlaskDBTestCase
            class T(FlaskDBTestCase):
                app_factory = "no_such_module:create_app"
                def test_x(self):
                    pass
        ''')
        self.assertFailsWith(run, "Could not import the app factory module 'no_such_module'", "pip install -e .")

    def test_factory_returns_no_app(self):
        run = self.run_project('''
            from flask_dbtestcase import FlaskDBTestCase
            class T(FlaskDBTestCase):
                app_factory = staticmethod(lambda config: None)
                def test_x(self):
                    pass
        ''')
        self.assertFailsWith(run, "returned NoneType, not a Flask app")

    def test_factory_raises(self):
        run = self.run_project('''
            from flask_dbtestcase import FlaskDBTestCase
            def broken(config):
                raise RuntimeError("boom in factory")
            class T(FlaskDBTestCase):
                app_factory = broken
                def test_x(self):
                    pass
        ''')
        self.assertFailsWith(run, "raised RuntimeError: boom in factory", "test_it.py")

    def test_app_without_flask_sqlalchemy(self):
        run = self.run_project('''
            from flask import Flask
            from flask_dbtestcase import FlaskDBTestCase
            class T(FlaskDBTestCase):
                app_factory = staticmethod(lambda: Flask("bare"))
                def test_x(self):
                    pass
        ''')
        self.assertFailsWith(run, "has no Flask-SQLAlchemy extension", "db.init_app(app)")

    def test_no_factory_configured(self):
        run = self.run_project('''
            from flask_dbtestcase import FlaskDBTestCase
            class T(FlaskDBTestCase):
                def test_x(self):
                    pass
        ''')
        self.assertFailsWith(run, "No app factory is configured")

    def test_an_existing_app_is_not_a_factory(self):
        run = self.run_project('''
            from flask_dbtestcase import FlaskDBTestCase
            class T(FlaskDBTestCase):
                app_factory = "myapp:app"
                def test_x(self):
                    pass
        ''', app=APP + "\napp = create_app({'SQLALCHEMY_DATABASE_URI': 'sqlite://'})\n")
        self.assertFailsWith(run, "is a Flask app that already exists, not an application factory")

    def test_postgresql_missing(self):
        empty = tempfile.mkdtemp()
        run = self.run_project('''
            from flask_dbtestcase import FlaskDBTestCase
            class T(FlaskDBTestCase):
                app_factory = "myapp:create_app"
                def test_x(self):
                    pass
        ''', env={"FLASK_DBTESTCASE_PG_BIN": empty, "PATH": "/usr/bin:/bin"})
        os.rmdir(empty)
        self.assertFailsWith(run, "PostgreSQL", "--database-url")

    @unittest.skipUnless(system_server_available(), "needs the PostgreSQL server on 127.0.0.1:5432")
    def test_factory_ignoring_the_config_touches_nothing(self):
        run = self.run_project('''
            from flask_dbtestcase import FlaskDBTestCase
            import myapp
            def stubborn(config):
                return myapp.create_app({"SQLALCHEMY_DATABASE_URI": "postgresql://postgres@127.0.0.1:5432/postgres"})
            class T(FlaskDBTestCase):
                app_factory = stubborn
                def test_x(self):
                    pass
        ''')
        self.assertFailsWith(run, "ignored the test configuration", "Nothing was run against it")
        self.assertNoProbeTable()

    @unittest.skipUnless(system_server_available(), "needs the PostgreSQL server on 127.0.0.1:5432")
    def test_non_test_database_from_the_environment(self):
        run = self.run_project('''
            from flask_dbtestcase import FlaskDBTestCase
            class T(FlaskDBTestCase):
                app_factory = "myapp:create_app"
                def test_x(self):
                    pass
        ''', env={"FLASK_DBTESTCASE_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres"})
        self.assertFailsWith(run, "Refusing to", "not a test database")
        self.assertNoProbeTable()

    def assertNoProbeTable(self):
        conn = psycopg2.connect(SYSTEM_SERVER)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT to_regclass('fdt_error_probe_thing')")
                self.assertIsNone(cur.fetchone()[0], "a table was created on a non-test database")
        finally:
            conn.close()

    def test_raw_commit_is_reported(self):
        run = self.run_project('''
            import sqlalchemy as sa
            from flask_dbtestcase import FlaskDBTestCase
            from myapp import db
            class T(FlaskDBTestCase):
                app_factory = "myapp:create_app"
                def test_raw_commit(self):
                    db.session.execute(sa.text("INSERT INTO fdt_error_probe_thing (name) VALUES ('x')"))
                    db.session.execute(sa.text("COMMIT"))
        ''')
        self.assertFailsWith(run, "raw COMMIT", "FlaskDBTransactionTestCase")

    def test_deferred_constraint_violation_fails_the_test(self):
        app = APP + '''
class Child(db.Model):
    __tablename__ = "fdt_error_probe_child"
    id: Mapped[int] = mapped_column(primary_key=True)
    thing_id: Mapped[int] = mapped_column(
        sa.ForeignKey("fdt_error_probe_thing.id", deferrable=True, initially="DEFERRED"))
'''
        run = self.run_project('''
            from flask_dbtestcase import FlaskDBTestCase
            from myapp import db, Child
            class T(FlaskDBTestCase):
                app_factory = "myapp:create_app"
                def test_dangling_reference(self):
                    db.session.add(Child(thing_id=12345))
                    db.session.commit()
        ''', app=app)
        self.assertFailsWith(run, "deferred constraint", "fdt_error_probe_child")

    def test_factory_from_pyproject_and_flask_app(self):
        tests = '''
            from flask_dbtestcase import FlaskDBTestCase
            from myapp import Thing
            class T(FlaskDBTestCase):
                def test_x(self):
                    self.assertRowCount(Thing, 0)
                    self.assertTrue(self.app.config["TESTING"])
        '''
        run = self.run_project(tests, extra={
            "pyproject.toml": '[tool.flask-dbtestcase]\napp_factory = "myapp:create_app"\n'})
        self.assertEqual(run.proc.returncode, 0, run.output)
        run = self.run_project(tests, env={"FLASK_APP": "myapp"})
        self.assertEqual(run.proc.returncode, 0, run.output)
        self.assertIn("Ran 1 test", run.output)
