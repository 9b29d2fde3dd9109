"""Do no harm: libpq's environment never sends a run to a server it did not start.

libpq fills every connection parameter a connection does not give from the
environment (PGHOST, PGHOSTADDR, PGPORT, PGSERVICE, ...). A second real
server on this machine (:class:`~tests.support.ForeignServer`) holds a
``test_db`` with rows, a role and database settings; every variable is
pointed at it, one at a time and all together. The throwaway server's
databases are still created, used and dropped on that server, and the
second server's databases, rows and settings are untouched. A server that
only claims to be the throwaway one (its socket directory is, the server
behind it is not) is refused before anything is done on it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import unittest
from unittest import mock

import sqlalchemy as sa

from flask_dbtestcase import tag
from flask_dbtestcase.cases.testdb import current_database_url
from flask_dbtestcase.databases import creation, libpq, maintenance, safety, urls
from flask_dbtestcase.databases.config import THROWAWAY_DATABASE
from flask_dbtestcase.errors import ConfigurationError, PostgreSQLNotFound, UnsafeDatabaseError
from flask_dbtestcase.postgres import server
from flask_dbtestcase.postgres.directories import runtime_dir
from flask_dbtestcase.postgres.identity import MARKER, is_throwaway_url
from flask_dbtestcase.postgres.processes import write_private
from tests.support import ForeignServer, Project, app_source, server_config, set_env

#: The variables that would change a connection, with the parameter and
#: libpq version from which they exist (0: always).
_SINCE = {
    "PGREQUIREAUTH": 160000,
    "PGSSLCERTMODE": 160000,
    "PGLOADBALANCEHOSTS": 160000,
    "PGSSLNEGOTIATION": 170000,
    "PGMINPROTOCOLVERSION": 180000,
}


def run_driver() -> str:
    """The driver of this run: the one its test database's URL names."""
    return current_database_url().get_driver_name()


def hostile_environment(foreign: ForeignServer, files: str) -> dict[str, dict[str, str]]:
    """Every libpq variable that decides where a connection goes or whether it
    is accepted, each pointed at the second server or set to make a connection
    that used it fail: name -> the variables to set for it."""
    service_file = os.path.join(files, "pg_service.conf")
    write_private(
        service_file,
        f"[foreign]\nhost=127.0.0.1\nport={foreign.port}\ndbname=test_db\nuser=intruder\n",
    )
    pass_file = os.path.join(files, "pgpass")
    write_private(pass_file, f"127.0.0.1:{foreign.port}:*:intruder:secret\n")
    one = {
        "PGHOST": "127.0.0.1",
        "PGHOSTADDR": "127.0.0.1",
        "PGPORT": str(foreign.port),
        "PGDATABASE": "test_db",
        "PGUSER": "intruder",
        "PGPASSWORD": "secret",
        "PGPASSFILE": pass_file,
        "PGSERVICEFILE": service_file,
        "PGSYSCONFDIR": files,
        "PGOPTIONS": "-c default_transaction_read_only=on",
        "PGAPPNAME": "intruder",
        "PGSSLMODE": "require",
        "PGSSLROOTCERT": "system",
        "PGREQUIREPEER": "nobody",
        "PGCHANNELBINDING": "require",
        "PGGSSENCMODE": "require",
        "PGTARGETSESSIONATTRS": "standby",
        "PGCONNECT_TIMEOUT": "3",
        "PGREQUIREAUTH": "password",
        "PGSSLCERTMODE": "require",
        "PGLOADBALANCEHOSTS": "random",
        "PGSSLNEGOTIATION": "direct",
        "PGMINPROTOCOLVERSION": "3.2",
    }
    cases = {name: {name: value} for name, value in one.items()}
    # A service is read only when one is named: with its file, and from PGSYSCONFDIR.
    cases["PGSERVICE"] = {"PGSERVICE": "foreign", "PGSERVICEFILE": service_file}
    cases["PGSERVICE in PGSYSCONFDIR"] = {"PGSERVICE": "foreign", "PGSYSCONFDIR": files}
    return cases


def all_together(cases: dict[str, dict[str, str]]) -> dict[str, str]:
    """The variables of every case at once (PGSERVICE with its file)."""
    merged: dict[str, str] = {}
    for values in cases.values():
        merged.update(values)
    return merged


class ForeignServerCase(unittest.TestCase):
    """A second server holding a ``test_db`` with rows, settings and a role."""

    @classmethod
    def setUpClass(cls):
        try:
            cls.foreign = ForeignServer()
        except PostgreSQLNotFound as exc:  # a run on an existing server, without binaries
            raise unittest.SkipTest(
                f"no second PostgreSQL server can be started here: {exc}"
            ) from None
        cls.addClassCleanup(cls.foreign.stop)
        cls.foreign.sql("CREATE DATABASE test_db")
        cls.foreign.sql("ALTER DATABASE test_db SET work_mem = '7MB'")
        cls.foreign.sql("CREATE ROLE intruder LOGIN PASSWORD 'secret'")
        cls.foreign.sql("CREATE TABLE precious (x int); INSERT INTO precious VALUES (1), (2), (3)",
                        "test_db")  # fmt: skip
        cls.before = cls.foreign_state()
        cls.files = tempfile.mkdtemp(prefix="libpq-env-")
        cls.addClassCleanup(shutil.rmtree, cls.files, True)
        cls.cases = hostile_environment(cls.foreign, cls.files)

    @classmethod
    def foreign_state(cls):
        """What must never change on the second server: its databases, their
        settings, its rows."""
        return (
            cls.foreign.sql("SELECT datname FROM pg_database ORDER BY 1"),
            cls.foreign.sql("SELECT setdatabase, setconfig FROM pg_db_role_setting ORDER BY 1"),
            cls.foreign.sql("SELECT x FROM precious ORDER BY 1", "test_db"),
        )

    def assert_foreign_untouched(self):
        # Read with libpq's environment as the machine had it, not as a test set it.
        hostile = {name: None for name in libpq.LIBPQ_ENVIRONMENT}
        with mock.patch.dict(os.environ):
            for name in hostile:
                os.environ.pop(name, None)
            state = self.foreign_state()
        self.assertEqual(state, self.before)

    def applicable(self, values: dict[str, str], driver: str) -> bool:
        """Whether the driver's libpq knows every variable of a case."""
        version = libpq.libpq_version(driver)
        return all(version >= _SINCE.get(name, 0) for name in values)


@tag("slow")
class EnvironmentIgnoredTests(ForeignServerCase):
    """In this process: the framework's own connections and the app's engines."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = server.ThrowawayServer.start(server_config())
        cls.addClassCleanup(cls.server.stop)

    def exercise(self):
        """Create the throwaway server's test_db, use it through an app-made
        engine on each driver, drop it; return the data directories that answered."""
        url = urls.parse_test_url(self.server.url(THROWAWAY_DATABASE, run_driver()), run_driver())
        creation.create_test_database(url, creation.Timeouts(), interactive=False, autoclobber=True)
        seen = []
        try:
            for driver in ("psycopg", "psycopg2"):
                engine = sa.create_engine(url.set(drivername=f"postgresql+{driver}"))
                try:
                    with engine.begin() as conn:
                        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x int)")
                        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
                        seen.append(conn.exec_driver_sql(DATA_DIR).scalar())
                finally:
                    engine.dispose()
        finally:
            creation.destroy_test_database(url)
        return seen

    def assert_own_server(self, seen):
        own = os.path.realpath(self.server.data_dir)
        self.assertEqual([os.path.realpath(d) for d in seen], [own, own])

    def test_each_variable_alone(self):
        tried = []
        for name, values in self.cases.items():
            if not self.applicable(values, run_driver()):
                continue
            with self.subTest(name):
                set_env(self, **values)
                try:
                    self.assert_own_server(self.exercise())
                finally:
                    for variable in values:
                        os.environ.pop(variable, None)
                tried.append(name)
        self.assertIn("PGHOSTADDR", tried)
        self.assertIn("PGSERVICE", tried)
        self.assert_foreign_untouched()

    def test_all_together(self):
        values = {
            name: value
            for name, value in all_together(self.cases).items()
            if self.applicable({name: value}, run_driver())
        }
        set_env(self, **values)
        self.assert_own_server(self.exercise())
        self.assert_foreign_untouched()


DATA_DIR = "SELECT current_setting('data_directory')"


class ImpostorTests(ForeignServerCase):
    """A socket directory that looks like the throwaway server's, with another
    server behind it: refused before anything is done on it."""

    def setUp(self):
        base = tempfile.mkdtemp(prefix=f"srv-{os.getpid()}-", dir=runtime_dir(server_config()))
        self.addCleanup(shutil.rmtree, base, True)
        sock = os.path.join(base, "sock")
        os.mkdir(sock, 0o700)
        os.mkdir(os.path.join(base, "data"), 0o700)
        write_private(os.path.join(sock, MARKER), base + "\n")
        os.symlink(
            os.path.join(self.foreign.socket_dir, f".s.PGSQL.{self.foreign.port}"),
            os.path.join(sock, ".s.PGSQL.5432"),
        )
        write_private(os.path.join(base, "data", "postmaster.pid"), f"{self.foreign.process.pid}\n")
        self.url = urls.parse_test_url(
            f"postgresql://postgres@:5432/test_db?host={sock}", run_driver()
        )
        self.assertTrue(is_throwaway_url(self.url))  # it looks like ours

    def test_create_refused(self):
        with self.assertRaises(UnsafeDatabaseError) as caught:
            creation.create_test_database(
                self.url, creation.Timeouts(), interactive=False, autoclobber=True
            )
        self.assertIn("the server that answered is another one", str(caught.exception))
        self.assertIn(self.foreign.data_dir, str(caught.exception))
        self.assert_foreign_untouched()

    def test_drop_and_check_refused(self):
        with self.assertRaises(UnsafeDatabaseError):
            creation.destroy_test_database(self.url)
        with self.assertRaises(UnsafeDatabaseError):
            safety.check_test_database(self.url, "empty the tables")
        self.assert_foreign_untouched()

    def test_the_variable_is_named(self):
        set_env(self, PGAPPNAME="intruder")
        with self.assertRaises(UnsafeDatabaseError) as caught:
            maintenance.connect_maintenance(self.url)
        self.assertIn("PGAPPNAME='intruder'", str(caught.exception))


class NamedServerTests(unittest.TestCase):
    """A server the user named keeps the user's environment; a failure names it."""

    def test_failed_connection_names_the_variable(self):
        set_env(self, PGPORT="1")
        with self.assertRaises(ConfigurationError) as caught:
            url = urls.parse_test_url("postgresql://postgres@127.0.0.1/test_x", run_driver())
            maintenance.connect_maintenance(url)
        self.assertIn("PGPORT='1'", str(caught.exception))


TESTS = """
import json
import os

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase, FlaskDBTransactionTestCase
from myapp import Thing, db

SEEN = "SELECT current_setting('data_directory'), inet_server_addr()::text"


def record(row):
    with open(os.environ["RECORD"], "a") as f:
        f.write(json.dumps(list(row)) + "\\n")


class Rolled(FlaskDBTestCase):
    app_factory = "myapp:create_app"

    def test_commit(self):
        db.session.add(Thing(name="rolled"))
        db.session.commit()
        record(db.session.execute(sa.text(SEEN)).one())


class Committed(FlaskDBTransactionTestCase):
    app_factory = "myapp:create_app"

    def test_commit(self):
        db.session.add(Thing(name="committed"))
        db.session.commit()
        record(db.session.execute(sa.text(SEEN)).one())
"""

PYTEST_TESTS = """
import sqlalchemy as sa

from myapp import Thing
from tests_env import SEEN, record


def test_db(db):
    db.session.add(Thing(name="fixture"))
    db.session.commit()
    record(db.session.execute(sa.text(SEEN)).one())


def test_transactional(transactional_db):
    transactional_db.session.add(Thing(name="transactional"))
    transactional_db.session.commit()
    record(transactional_db.session.execute(sa.text(SEEN)).one())
"""


@tag("slow")
class RunsTests(ForeignServerCase):
    """Runs as a user starts them, with every variable set at once."""

    def run_project(self, module, args, tests=2):
        record = os.path.join(self.files, f"record-{self.id()}")
        env = all_together(self.cases)
        env.update(RECORD=record)
        files = {
            "myapp.py": app_source("env_thing"),
            "tests_env.py": TESTS,
            "test_env_pytest.py": PYTEST_TESTS,
            "pyproject.toml": '[tool.flask-dbtestcase]\napp_factory = "myapp:create_app"\n',
        }
        project = Project(self, files, module=module, env=env)
        result = project.run(args)
        self.assertEqual(result.returncode, 0, result)
        with open(record) as f:
            rows = [json.loads(line) for line in f]
        self.assertEqual(len(rows), tests, result)
        for data_dir, address in rows:
            self.assertIsNone(address, "a TCP connection: not the throwaway server's socket")
            self.assertNotEqual(os.path.realpath(data_dir), os.path.realpath(self.foreign.data_dir))
            self.assertTrue(data_dir.endswith("/data"), data_dir)
        self.assert_foreign_untouched()
        return result

    def test_runner(self):
        self.run_project("flask_dbtestcase", ["tests_env"])

    def test_runner_parallel(self):
        self.run_project("flask_dbtestcase", ["tests_env", "--parallel", "2"])

    def test_pytest_xdist(self):
        args = ["-q", "-p", "no:cacheprovider", "-n", "2", "test_env_pytest.py"]
        self.run_project("pytest", args)

    def test_unittest(self):
        self.run_project("unittest", ["tests_env"])

    def test_pytest(self):
        self.run_project("pytest", ["-q", "-p", "no:cacheprovider", "test_env_pytest.py"])

    def test_service_that_does_not_exist(self):
        project = Project(
            self,
            {"myapp.py": app_source("env_thing"), "tests_env.py": TESTS},
            env={"PGSERVICE": "nope", "RECORD": os.path.join(self.files, "unused")},
        )
        result = project.run(["tests_env"])
        self.assertNotEqual(result.returncode, 0, result)
        self.assertIn("PGSERVICE='nope'", result.output)
        self.assertIn("Unset PGSERVICE for the test run", result.output)
        self.assertNotIn("Traceback", result.output)
        self.assert_foreign_untouched()
