"""Test database create/clone/destroy, on real PostgreSQL servers.

Most tests use a throwaway server. The ones about an existing server use
the system PostgreSQL at 127.0.0.1:5432 and only ever touch
``test_postgres`` there; they are skipped when it is not running.
"""

from __future__ import annotations

import unittest
from unittest import mock

import psycopg2
from sqlalchemy.engine import make_url as sa_make_url

from flask_dbtestcase.cases.testdb import current_database_url
from flask_dbtestcase.databases import creation, maintenance, safety, urls
from flask_dbtestcase.databases.config import DatabasesConfig
from flask_dbtestcase.databases.drivers import url_driver
from flask_dbtestcase.databases.lifecycle import open_test_databases
from flask_dbtestcase.errors import ConfigurationError, UnsafeDatabaseError
from flask_dbtestcase.postgres import server
from tests.support import run_sql, server_available, server_config

# Not support.SYSTEM_SERVER: the expected messages below name 127.0.0.1:5432.
SYSTEM = "postgresql://postgres@127.0.0.1:5432"
SYSTEM_URL = SYSTEM + "/postgres"


#: Every bound off: what these tests check does not depend on them.
TIMEOUTS = creation.Timeouts()


def run_driver() -> str:
    """The driver of this run: the one its test database's URL names."""
    return current_database_url().get_driver_name()


def parse(text: str):
    """A URL as the run's edge parses it: naming the run's driver."""
    return urls.parse_test_url(text, run_driver())


def system_databases() -> list[str]:
    return [
        row[0] for row in run_sql(SYSTEM_URL, "SELECT datname FROM pg_database ORDER BY datname")
    ]


class UrlTests(unittest.TestCase):
    def test_plain_and_driver_schemes_name_the_run_driver(self):
        for driver in ("psycopg", "psycopg2"):
            for given in (
                "postgresql://u:pw@h:5433/db",
                "postgres://u:pw@h:5433/db",
                "postgresql+psycopg2://u:pw@h:5433/db",
                "postgresql+psycopg://u:pw@h:5433/db",
            ):
                url = urls.parse_test_url(given, driver)
                self.assertEqual(url.drivername, f"postgresql+{driver}", given)
                self.assertEqual((url.host, url.port, url.database), ("h", 5433, "db"))
                self.assertEqual(url.password, "pw")

    def test_each_url_renders_as_itself_without_its_password(self):
        for n in range(200):
            url = sa_make_url(f"postgresql://u:pw@h/db_{n}")
            self.assertEqual(urls.render_url(url), f"postgresql://u:***@h/db_{n}")

    def test_url_object_and_other_postgres_driver(self):
        url = urls.parse_test_url(sa_make_url("postgresql://h/db"), "psycopg")
        self.assertEqual(url.drivername, "postgresql+psycopg")
        kept = urls.parse_test_url("postgresql+asyncpg://h/db", "psycopg")
        self.assertEqual(kept.drivername, "postgresql+asyncpg")

    def test_not_postgres(self):
        for given in ("sqlite:///x.db", "mysql://u:secret@h/db"):
            with self.assertRaises(ConfigurationError) as cm:
                urls.parse_url(given)
            self.assertIn("PostgreSQL", str(cm.exception))
            self.assertNotIn("secret", str(cm.exception))

    def test_unparseable(self):
        with self.assertRaises(ConfigurationError) as cm:
            urls.parse_url("this is not a url")
        self.assertIn("not a valid database URL", str(cm.exception))

    def test_render_hides_password(self):
        rendered = urls.render_url("postgresql://u:secret@h/db")
        self.assertNotIn("secret", rendered)
        self.assertIn("u:***@h/db", rendered)

    def test_test_database_name(self):
        self.assertEqual(urls.test_database_name("app"), "test_app")
        self.assertEqual(urls.test_database_name("test_app"), "test_app")

    def test_is_test_database_by_name(self):
        self.assertTrue(safety.is_test_database(parse("postgresql://h/test_app")))
        self.assertFalse(safety.is_test_database(parse("postgresql://h/app")))
        self.assertFalse(safety.is_test_database(parse("postgresql://h/testapp")))

    def test_same_database(self):
        def same(a: str, b: str) -> bool:
            return urls.same_database(urls.parse_url(a), urls.parse_url(b))

        self.assertTrue(same("postgres://u@h/db", "postgresql+psycopg2://other:pw@h:5432/db"))
        self.assertTrue(same("postgresql+psycopg://h/db", "postgresql+psycopg2://h/db"))
        self.assertFalse(same("postgresql://h/db", "postgresql://h/db2"))
        self.assertFalse(same("postgresql://h/db", "postgresql://h:5433/db"))
        self.assertFalse(same("postgresql://h/db", "postgresql://h2/db"))
        self.assertTrue(same("postgresql://u@/db?host=/a", "postgresql://u@/db?host=/a"))
        self.assertFalse(same("postgresql://u@/db?host=/a", "postgresql://u@/db?host=/b"))

    def test_bind_database_url(self):
        url = urls.bind_database_url(parse("postgresql://u:pw@h/test_app"), "users")
        self.assertEqual(url.database, "test_app_users")
        self.assertEqual((url.host, url.password), ("h", "pw"))

    def test_check_refuses_before_connecting(self):
        # Nothing listens there: a connection attempt would be a ConfigurationError.
        with self.assertRaises(UnsafeDatabaseError) as cm:
            creation.destroy_test_database(parse("postgresql://u:secret@127.0.0.1:1/prod"))
        message = str(cm.exception)
        self.assertTrue(message.startswith("Refusing to drop the database on database 'prod'"))
        self.assertNotIn("secret", message)
        self.assertNotIn("\n", message)


class ThrowawayTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = server.ThrowawayServer.start(server_config())
        cls.addClassCleanup(cls.server.stop)

    def url(self, name: str):
        url = parse(self.server.url(name, run_driver()))
        self.addCleanup(self.drop, url)
        return url

    def drop(self, url) -> None:
        sql = url_driver(url).sql  # the maintenance connection's driver
        conn = maintenance.connect_maintenance(url)
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(url.database)))
        conn.close()

    def test_any_name_is_a_test_database_on_the_throwaway_server(self):
        self.assertTrue(safety.is_test_database(parse(self.server.url("app", run_driver()))))
        safety.check_test_database(parse(self.server.url("app", run_driver())), "create")

    def test_create_exists_destroy(self):
        url = self.url("app")
        self.assertFalse(creation.database_exists(url))
        self.assertTrue(creation.create_test_database(url, TIMEOUTS))
        self.assertTrue(creation.database_exists(url))
        self.assertFalse(creation.create_test_database(url, TIMEOUTS, keepdb=True))  # kept
        creation.destroy_test_database(url)
        self.assertFalse(creation.database_exists(url))
        creation.destroy_test_database(url)  # already gone: fine

    def test_name_needing_quotes(self):
        url = self.url('We"ird Name')
        creation.create_test_database(url, TIMEOUTS)
        self.assertTrue(creation.database_exists(url))

    def test_too_long_a_name(self):
        with self.assertRaises(ConfigurationError) as cm:
            creation.create_test_database(self.url("x" * 64), TIMEOUTS)
        self.assertIn("63", str(cm.exception))

    def test_destroy_disconnects_others(self):
        url = self.url("busy")
        creation.create_test_database(url, TIMEOUTS)
        other = psycopg2.connect(host=self.server.socket_dir, user="postgres", dbname="busy")
        self.addCleanup(other.close)
        creation.destroy_test_database(url)
        self.assertFalse(creation.database_exists(url))

    def test_existing_database(self):
        url = self.url("app")
        creation.create_test_database(url, TIMEOUTS)
        with self.assertRaises(ConfigurationError) as cm:
            creation.create_test_database(url, TIMEOUTS, interactive=False)
        self.assertIn("--keepdb", str(cm.exception))
        creation.create_test_database(url, TIMEOUTS, keepdb=True)
        self.assertTrue(creation.database_exists(url))

    def test_autoclobber_replaces(self):
        url = self.url("app")
        creation.create_test_database(url, TIMEOUTS)
        self.make_table(url)
        creation.create_test_database(url, TIMEOUTS, autoclobber=True)
        self.assertEqual(self.tables(url), [])

    def test_prompt(self):
        url = self.url("app")
        creation.create_test_database(url, TIMEOUTS)
        self.make_table(url)
        with mock.patch("sys.stdin") as stdin, mock.patch("builtins.input") as ask:
            stdin.isatty.return_value = True
            ask.return_value = "no"
            with self.assertRaises(ConfigurationError) as cm:
                creation.create_test_database(url, TIMEOUTS)
            self.assertEqual(str(cm.exception), "Tests cancelled.")
            self.assertIn("Type 'yes' if you would like to try deleting", ask.call_args[0][0])
            self.assertEqual(self.tables(url), ["t"])
            ask.return_value = "yes"
            creation.create_test_database(url, TIMEOUTS)
        self.assertEqual(self.tables(url), [])

    def test_clone(self):
        url = self.url("app")
        creation.create_test_database(url, TIMEOUTS)
        self.make_table(url)
        holder = psycopg2.connect(host=self.server.socket_dir, user="postgres", dbname="app")
        self.addCleanup(holder.close)  # a connection to the template must not block
        clone = creation.clone_test_database(url, "gw1", TIMEOUTS)
        self.addCleanup(self.drop, clone)
        self.assertEqual(clone.database, "app_gw1")
        self.assertEqual(self.tables(clone), ["t"])
        again = creation.clone_test_database(url, "gw1", TIMEOUTS)  # replaces an old clone
        self.assertEqual(self.tables(again), ["t"])

    def test_the_door_drops_what_it_created(self):
        """A run on an existing server (here the throwaway one, named by URL):
        its test database, a bind's and a worker's copy go at the end."""
        self.addCleanup(self.drop, self.url("test_app"))
        config = DatabasesConfig(run_driver(), server_config())
        databases = open_test_databases(
            config,
            database_url=self.server.url("app", run_driver()),
            interactive=False,
            hand_over=False,
        )
        self.assertEqual((databases.mode, databases.url.database), ("server", "test_app"))
        bind = databases.url.set(database="test_app_users")
        self.addCleanup(self.drop, bind)
        databases.create_database(bind)
        clone = databases.clone("gw1")
        self.addCleanup(self.drop, clone)
        for url in (databases.url, bind, clone):
            self.assertTrue(creation.database_exists(url))
        databases.close()
        for url in (databases.url, bind, clone):
            self.assertFalse(creation.database_exists(url), url.database)

    def make_table(self, url) -> None:
        run_sql(url, "CREATE TABLE t (id int)")

    def tables(self, url) -> list[str]:
        rows = run_sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return [row[0] for row in rows]


@unittest.skipUnless(server_available(SYSTEM), "no PostgreSQL server on 127.0.0.1:5432")
class ExistingServerTests(unittest.TestCase):
    def setUp(self):
        self.url = parse(SYSTEM_URL).set(database=urls.test_database_name("postgres"))
        self.addCleanup(self.drop)

    def drop(self) -> None:
        run_sql(SYSTEM_URL, "DROP DATABASE IF EXISTS test_postgres")

    def test_refuses_a_non_test_database_and_runs_nothing(self):
        before = system_databases()
        # A spy, not a fake: it records whether a connection was even opened.
        system = parse(SYSTEM_URL)
        module = url_driver(system)
        spy = mock.patch.object(module, "connect", wraps=module.connect)
        with spy as connect:
            for action in (
                lambda: creation.create_test_database(system, TIMEOUTS, autoclobber=True),
                lambda: creation.destroy_test_database(system),
                lambda: creation.clone_test_database(system, "x", TIMEOUTS),
            ):
                with self.assertRaises(UnsafeDatabaseError) as cm:
                    action()
                self.assertIn("'postgres' at 127.0.0.1:5432", str(cm.exception))
        connect.assert_not_called()
        self.assertEqual(system_databases(), before)
        self.assertFalse(safety.is_test_database(system))
        self.assertTrue(creation.database_exists(system))

    def test_create_existing_noinput_keepdb_destroy(self):
        creation.create_test_database(self.url, TIMEOUTS, interactive=False)
        self.assertTrue(creation.database_exists(self.url))
        with self.assertRaises(ConfigurationError) as cm:
            creation.create_test_database(self.url, TIMEOUTS, interactive=False)
        message = str(cm.exception)
        self.assertIn("'test_postgres' already exists at 127.0.0.1:5432", message)
        for hint in ("--keepdb", "--noinput"):
            self.assertIn(hint, message)
        creation.create_test_database(self.url, TIMEOUTS, keepdb=True, interactive=False)
        self.assertTrue(creation.database_exists(self.url))
        creation.destroy_test_database(self.url)
        self.assertFalse(creation.database_exists(self.url))

    def test_unreachable_server(self):
        with self.assertRaises(ConfigurationError) as cm:
            maintenance.connect_maintenance(
                parse("postgresql://postgres:secret@127.0.0.1:1/test_x")
            )
        message = str(cm.exception)
        self.assertIn("127.0.0.1:1", message)
        self.assertNotIn("secret", message)
        self.assertIn("Check that the server is running", message)

    def test_plain_postgresql_url_works(self):
        creation.create_test_database(
            parse("postgresql://postgres@127.0.0.1:5432/test_postgres"), TIMEOUTS
        )
        self.assertTrue(creation.database_exists(self.url))


if __name__ == "__main__":
    unittest.main()
