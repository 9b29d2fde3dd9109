"""Failure paths of the test case classes, run as a user would: `python -m unittest`.

Each test writes a tiny project to a temporary directory and runs it with
unittest's own entry point, in this process (``Project.run_here``: on a test
database of its own on this run's server, or outside this run where the
test is about where the database comes from), and checks the one-paragraph error, the exit code,
and that nothing was left behind: no server, nothing created on a database
that is not a test database. One run is made in a process of its own,
starting its own throwaway server as a user's would: several of the
failures at once, then nothing may be left behind by that process.
"""

from __future__ import annotations

import os
import tempfile
import textwrap
import unittest

from flask_dbtestcase import tag
from tests.support import (
    SYSTEM_SERVER,
    Project,
    Result,
    app_source,
    assert_nothing_left,
    server_available,
    system_sql,
)

APP = app_source("fdt_error_probe_thing")

NOT_IMPORTABLE = """
    from flask_dbtestcase import FlaskDBTestCase
    class T(FlaskDBTestCase):
        app_factory = "no_such_module:create_app"
        def test_x(self):
            pass
"""

FACTORY_RAISES = """
    from flask_dbtestcase import FlaskDBTestCase
    def broken(config):
        raise RuntimeError("boom in factory")
    class T(FlaskDBTestCase):
        app_factory = broken
        def test_x(self):
            pass
"""

RAW_COMMIT = """
    import sqlalchemy as sa
    from flask_dbtestcase import FlaskDBTestCase
    from myapp import db
    class T(FlaskDBTestCase):
        app_factory = "myapp:create_app"
        def test_raw_commit(self):
            db.session.execute(sa.text("INSERT INTO fdt_error_probe_thing (name) VALUES ('x')"))
            db.session.execute(sa.text("COMMIT"))
"""

CHILD_APP = (
    APP
    + """
class Child(db.Model):
    __tablename__ = "fdt_error_probe_child"
    id: Mapped[int] = mapped_column(primary_key=True)
    thing_id: Mapped[int] = mapped_column(
        sa.ForeignKey("fdt_error_probe_thing.id", deferrable=True, initially="DEFERRED"))
"""
)

DEFERRED = """
    from flask_dbtestcase import FlaskDBTestCase
    from myapp import db, Child
    class T(FlaskDBTestCase):
        app_factory = "myapp:create_app"
        def test_dangling_reference(self):
            db.session.add(Child(thing_id=12345))
            db.session.commit()
"""


class ErrorTests(unittest.TestCase):
    def run_project(
        self,
        tests: str,
        app: str = APP,
        env: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
        outside: bool = False,
    ) -> Result:
        """Run ``tests`` with ``python -m unittest`` in a new project, in this
        process, on a test database of its own (as a user's project has: a
        raw COMMIT really commits, the projects' tables differ), or outside
        this run; nothing may be left behind."""
        files = {"myapp.py": app, "test_it.py": textwrap.dedent(tests), **(extra or {})}
        return Project(self, files, module="unittest", env=env).run_here(
            ["test_it"], outside=outside, own_database=not outside
        )

    def assertFailsWith(self, run: Result, *fragments: str) -> None:
        self.assertNotEqual(run.returncode, 0, run.output)
        for fragment in fragments:
            self.assertIn(fragment, run.output)

    @tag("slow")
    def test_failures_in_a_process_of_their_own_leave_nothing_behind(self):
        modules = {
            "test_not_importable": NOT_IMPORTABLE,
            "test_raises": FACTORY_RAISES,
            "test_raw_commit": RAW_COMMIT,
            "test_deferred": DEFERRED,
        }
        files = {"myapp.py": CHILD_APP}
        files.update({f"{name}.py": textwrap.dedent(text) for name, text in modules.items()})
        run = Project(self, files, module="unittest", timeout=120).run(["-v", *modules])
        assert_nothing_left(self, run.pid)
        self.assertFailsWith(
            run,
            "Could not import the app factory module 'no_such_module'",
            "raised RuntimeError: boom in factory",
            "ran 'COMMIT'",
            "deferred constraint",
        )

    def test_factory_module_not_importable(self):
        run = self.run_project(NOT_IMPORTABLE)
        self.assertFailsWith(
            run, "Could not import the app factory module 'no_such_module'", "pip install -e ."
        )

    def test_factory_returns_no_app(self):
        run = self.run_project("""
            from flask_dbtestcase import FlaskDBTestCase
            class T(FlaskDBTestCase):
                app_factory = staticmethod(lambda config: None)
                def test_x(self):
                    pass
        """)
        self.assertFailsWith(run, "returned NoneType, not a Flask app")

    def test_factory_raises(self):
        run = self.run_project(FACTORY_RAISES)
        self.assertFailsWith(run, "raised RuntimeError: boom in factory", "test_it.py")

    def test_app_without_flask_sqlalchemy(self):
        run = self.run_project("""
            from flask import Flask
            from flask_dbtestcase import FlaskDBTestCase
            class T(FlaskDBTestCase):
                app_factory = staticmethod(lambda: Flask("bare"))
                def test_x(self):
                    pass
        """)
        self.assertFailsWith(run, "has no Flask-SQLAlchemy extension", "db.init_app(app)")

    def test_no_factory_configured(self):
        run = self.run_project("""
            from flask_dbtestcase import FlaskDBTestCase
            class T(FlaskDBTestCase):
                def test_x(self):
                    pass
        """)
        self.assertFailsWith(run, "No app factory is configured")

    def test_an_existing_app_is_not_a_factory(self):
        run = self.run_project(
            """
            from flask_dbtestcase import FlaskDBTestCase
            class T(FlaskDBTestCase):
                app_factory = "myapp:app"
                def test_x(self):
                    pass
        """,
            app=APP + "\napp = create_app({'SQLALCHEMY_DATABASE_URI': 'sqlite://'})\n",
        )
        self.assertFailsWith(run, "is a Flask app that already exists, not an application factory")

    def test_postgresql_missing(self):
        empty = tempfile.mkdtemp()
        run = self.run_project(
            """
            from flask_dbtestcase import FlaskDBTestCase
            class T(FlaskDBTestCase):
                app_factory = "myapp:create_app"
                def test_x(self):
                    pass
        """,
            env={"FLASK_DBTESTCASE_PG_BIN": empty, "PATH": "/usr/bin:/bin"},
            outside=True,
        )
        os.rmdir(empty)
        self.assertFailsWith(run, "PostgreSQL", "--database-url")

    @unittest.skipUnless(server_available(), "needs the PostgreSQL server on 127.0.0.1:5432")
    def test_factory_ignoring_the_config_touches_nothing(self):
        run = self.run_project(f"""
            from flask_dbtestcase import FlaskDBTestCase
            import myapp
            def stubborn(config):
                uri = {SYSTEM_SERVER + "/postgres"!r}
                return myapp.create_app({{"SQLALCHEMY_DATABASE_URI": uri}})
            class T(FlaskDBTestCase):
                app_factory = stubborn
                def test_x(self):
                    pass
        """)
        self.assertFailsWith(run, "ignored the test configuration", "Nothing was run against it")
        self.assertNoProbeTable()

    @unittest.skipUnless(server_available(), "needs the PostgreSQL server on 127.0.0.1:5432")
    def test_non_test_database_from_the_environment(self):
        run = self.run_project(
            """
            from flask_dbtestcase import FlaskDBTestCase
            class T(FlaskDBTestCase):
                app_factory = "myapp:create_app"
                def test_x(self):
                    pass
        """,
            env={"FLASK_DBTESTCASE_DATABASE_URL": SYSTEM_SERVER + "/postgres"},
            outside=True,
        )
        self.assertFailsWith(run, "Refusing to", "not a test database")
        self.assertNoProbeTable()

    def assertNoProbeTable(self):
        found = system_sql("SELECT to_regclass('fdt_error_probe_thing')")[0][0]
        self.assertIsNone(found, "a table was created on a non-test database")

    def test_raw_commit_is_reported(self):
        run = self.run_project(RAW_COMMIT)
        self.assertFailsWith(run, "ran 'COMMIT'", "FlaskDBTransactionTestCase")

    def test_deferred_constraint_violation_fails_the_test(self):
        run = self.run_project(DEFERRED, app=CHILD_APP)
        self.assertFailsWith(run, "deferred constraint", "fdt_error_probe_child")

    def test_factory_from_pyproject_and_flask_app(self):
        tests = """
            from flask_dbtestcase import FlaskDBTestCase
            from myapp import Thing
            class T(FlaskDBTestCase):
                def test_x(self):
                    self.assertRowCount(Thing, 0)
                    self.assertTrue(self.app.config["TESTING"])
        """
        run = self.run_project(
            tests,
            extra={"pyproject.toml": '[tool.flask-dbtestcase]\napp_factory = "myapp:create_app"\n'},
        )
        self.assertEqual(run.returncode, 0, run.output)
        run = self.run_project(tests, env={"FLASK_APP": "myapp"})
        self.assertEqual(run.returncode, 0, run.output)
        self.assertIn("Ran 1 test", run.output)
