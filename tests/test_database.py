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

from flask_dbtestcase.databases import creation, maintenance, safety, urls
from flask_dbtestcase.databases.drivers import current_driver
from flask_dbtestcase.errors import ConfigurationError, UnsafeDatabaseError
from flask_dbtestcase.postgres import server
from flask_dbtestcase.state import STATE
from tests.support import run_sql, server_available, server_config

# Not support.SYSTEM_SERVER: the expected messages below name 127.0.0.1:5432.
SYSTEM = "postgresql://postgres@127.0.0.1:5432"
SYSTEM_URL = SYSTEM + "/postgres"


def own_created_list(case: unittest.TestCase) -> None:
    """Give the test a list of created databases of its own, and this run's
    back at its end: what it asserts about the list does not depend on what
    ran before it, and it does not make this run forget its own databases."""
    saved = STATE.created_databases
    STATE.created_databases = []
    case.addCleanup(setattr, STATE, "created_databases", saved)


def system_databases() -> list[str]:
    return [
        row[0] for row in run_sql(SYSTEM_URL, "SELECT datname FROM pg_database ORDER BY datname")
    ]


class UrlTests(unittest.TestCase):
    def test_plain_and_driver_schemes_name_the_run_driver(self):
        driver = f"postgresql+{current_driver().name}"
        for given in (
            "postgresql://u:pw@h:5433/db",
            "postgres://u:pw@h:5433/db",
            "postgresql+psycopg2://u:pw@h:5433/db",
            "postgresql+psycopg://u:pw@h:5433/db",
        ):
            url = urls.make_url(given)
            self.assertEqual(url.drivername, driver, given)
            self.assertEqual((url.host, url.port, url.database), ("h", 5433, "db"))
            self.assertEqual(url.password, "pw")

    def test_a_url_is_parsed_and_rendered_once(self):
        text = "postgresql://u:pw@h:5433/db_once"
        first = urls.make_url(text)
        self.assertIs(urls.make_url(text), first)
        self.assertEqual(urls.render_url(first), urls.render_url(first))
        self.assertNotIn("pw", urls.render_url(first))
        # Each URL renders as itself, however many were rendered before it.
        for n in range(200):
            url = sa_make_url(f"postgresql://u:pw@h/db_{n}")
            self.assertEqual(urls.render_url(url), f"postgresql://u:***@h/db_{n}")

    def test_url_object_and_other_postgres_driver(self):
        url = urls.make_url(sa_make_url("postgresql://h/db"))
        self.assertEqual(url.drivername, f"postgresql+{current_driver().name}")
        kept = urls.make_url("postgresql+asyncpg://h/db")
        self.assertEqual(kept.drivername, "postgresql+asyncpg")

    def test_not_postgres(self):
        for given in ("sqlite:///x.db", "mysql://u:secret@h/db"):
            with self.assertRaises(ConfigurationError) as cm:
                urls.make_url(given)
            self.assertIn("PostgreSQL", str(cm.exception))
            self.assertNotIn("secret", str(cm.exception))

    def test_unparseable(self):
        with self.assertRaises(ConfigurationError) as cm:
            urls.make_url("this is not a url")
        self.assertIn("not a valid database URL", str(cm.exception))

    def test_render_hides_password(self):
        rendered = urls.render_url("postgresql://u:secret@h/db")
        self.assertNotIn("secret", rendered)
        self.assertIn("u:***@h/db", rendered)

    def test_test_database_name(self):
        self.assertEqual(urls.test_database_name("app"), "test_app")
        self.assertEqual(urls.test_database_name("test_app"), "test_app")

    def test_is_test_database_by_name(self):
        self.assertTrue(safety.is_test_database("postgresql://h/test_app"))
        self.assertFalse(safety.is_test_database("postgresql://h/app"))
        self.assertFalse(safety.is_test_database("postgresql://h/testapp"))

    def test_same_database(self):
        same = urls.same_database
        self.assertTrue(same("postgres://u@h/db", "postgresql+psycopg2://other:pw@h:5432/db"))
        self.assertTrue(same("postgresql+psycopg://h/db", "postgresql+psycopg2://h/db"))
        self.assertFalse(same("postgresql://h/db", "postgresql://h/db2"))
        self.assertFalse(same("postgresql://h/db", "postgresql://h:5433/db"))
        self.assertFalse(same("postgresql://h/db", "postgresql://h2/db"))
        self.assertTrue(same("postgresql://u@/db?host=/a", "postgresql://u@/db?host=/a"))
        self.assertFalse(same("postgresql://u@/db?host=/a", "postgresql://u@/db?host=/b"))

    def test_bind_database_url(self):
        url = urls.bind_database_url("postgresql://u:pw@h/test_app", "users")
        self.assertEqual(url.database, "test_app_users")
        self.assertEqual((url.host, url.password), ("h", "pw"))

    def test_check_refuses_before_connecting(self):
        # Nothing listens there: a connection attempt would be a ConfigurationError.
        with self.assertRaises(UnsafeDatabaseError) as cm:
            creation.destroy_test_database("postgresql://u:secret@127.0.0.1:1/prod")
        message = str(cm.exception)
        self.assertTrue(message.startswith("Refusing to drop the database on database 'prod'"))
        self.assertNotIn("secret", message)
        self.assertNotIn("\n", message)


class ThrowawayTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = server.ThrowawayServer.start(server_config())
        cls.addClassCleanup(cls.server.stop)

    def setUp(self):
        own_created_list(self)

    def url(self, name: str):
        url = urls.make_url(self.server.url(name, current_driver().name))
        self.addCleanup(self.drop, url)
        return url

    def drop(self, url) -> None:
        sql = current_driver().module.sql  # the maintenance connection's driver
        conn = maintenance.connect_maintenance(url)
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(url.database)))
        conn.close()

    def test_any_name_is_a_test_database_on_the_throwaway_server(self):
        self.assertTrue(safety.is_test_database(self.server.url("app", current_driver().name)))
        safety.check_test_database(self.server.url("app", current_driver().name), "create")

    def test_create_exists_destroy(self):
        url = self.url("app")
        self.assertFalse(creation.database_exists(url))
        creation.create_test_database(url)
        self.assertTrue(creation.database_exists(url))
        self.assertEqual(STATE.created_databases, [url])
        creation.destroy_test_database(url)
        self.assertFalse(creation.database_exists(url))
        self.assertEqual(STATE.created_databases, [])
        creation.destroy_test_database(url)  # already gone: fine

    def test_name_needing_quotes(self):
        url = self.url('We"ird Name')
        creation.create_test_database(url)
        self.assertTrue(creation.database_exists(url))

    def test_too_long_a_name(self):
        with self.assertRaises(ConfigurationError) as cm:
            creation.create_test_database(self.url("x" * 64))
        self.assertIn("63", str(cm.exception))

    def test_destroy_disconnects_others(self):
        url = self.url("busy")
        creation.create_test_database(url)
        other = psycopg2.connect(host=self.server.socket_dir, user="postgres", dbname="busy")
        self.addCleanup(other.close)
        creation.destroy_test_database(url)
        self.assertFalse(creation.database_exists(url))

    def test_existing_database(self):
        url = self.url("app")
        creation.create_test_database(url)
        with self.assertRaises(ConfigurationError) as cm:
            creation.create_test_database(url, interactive=False)
        self.assertIn("--keepdb", str(cm.exception))
        creation.create_test_database(url, keepdb=True)
        self.assertTrue(creation.database_exists(url))

    def test_autoclobber_replaces(self):
        url = self.url("app")
        creation.create_test_database(url)
        self.make_table(url)
        creation.create_test_database(url, autoclobber=True)
        self.assertEqual(self.tables(url), [])

    def test_prompt(self):
        url = self.url("app")
        creation.create_test_database(url)
        self.make_table(url)
        with mock.patch("sys.stdin") as stdin, mock.patch("builtins.input") as ask:
            stdin.isatty.return_value = True
            ask.return_value = "no"
            with self.assertRaises(ConfigurationError) as cm:
                creation.create_test_database(url)
            self.assertEqual(str(cm.exception), "Tests cancelled.")
            self.assertIn("Type 'yes' if you would like to try deleting", ask.call_args[0][0])
            self.assertEqual(self.tables(url), ["t"])
            ask.return_value = "yes"
            creation.create_test_database(url)
        self.assertEqual(self.tables(url), [])

    def test_clone(self):
        url = self.url("app")
        creation.create_test_database(url)
        self.make_table(url)
        holder = psycopg2.connect(host=self.server.socket_dir, user="postgres", dbname="app")
        self.addCleanup(holder.close)  # a connection to the template must not block
        clone = creation.clone_test_database(url, "gw1")
        self.addCleanup(self.drop, clone)
        self.assertEqual(clone.database, "app_gw1")
        self.assertEqual(self.tables(clone), ["t"])
        again = creation.clone_test_database(url, "gw1")  # replaces an old clone
        self.assertEqual(self.tables(again), ["t"])
        self.assertEqual(STATE.created_databases, [url, clone])
        creation.destroy_created_databases()
        self.assertFalse(creation.database_exists(url))
        self.assertFalse(creation.database_exists(clone))
        self.assertEqual(STATE.created_databases, [])

    def make_table(self, url) -> None:
        run_sql(url, "CREATE TABLE t (id int)")

    def tables(self, url) -> list[str]:
        rows = run_sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return [row[0] for row in rows]


@unittest.skipUnless(server_available(SYSTEM), "no PostgreSQL server on 127.0.0.1:5432")
class ExistingServerTests(unittest.TestCase):
    def setUp(self):
        self.url = urls.make_url(SYSTEM_URL).set(database=urls.test_database_name("postgres"))
        own_created_list(self)
        self.addCleanup(self.drop)

    def drop(self) -> None:
        run_sql(SYSTEM_URL, "DROP DATABASE IF EXISTS test_postgres")

    def test_refuses_a_non_test_database_and_runs_nothing(self):
        before = system_databases()
        # A spy, not a fake: it records whether a connection was even opened.
        module = current_driver().module
        spy = mock.patch.object(module, "connect", wraps=module.connect)
        with spy as connect:
            for action in (
                lambda: creation.create_test_database(SYSTEM_URL, autoclobber=True),
                lambda: creation.destroy_test_database(SYSTEM_URL),
                lambda: creation.clone_test_database(SYSTEM_URL, "x"),
            ):
                with self.assertRaises(UnsafeDatabaseError) as cm:
                    action()
                self.assertIn("'postgres' at 127.0.0.1:5432", str(cm.exception))
        connect.assert_not_called()
        self.assertEqual(system_databases(), before)
        self.assertFalse(safety.is_test_database(SYSTEM_URL))
        self.assertTrue(creation.database_exists(SYSTEM_URL))

    def test_create_existing_noinput_keepdb_destroy(self):
        creation.create_test_database(self.url, interactive=False)
        self.assertTrue(creation.database_exists(self.url))
        with self.assertRaises(ConfigurationError) as cm:
            creation.create_test_database(self.url, interactive=False)
        message = str(cm.exception)
        self.assertIn("'test_postgres' already exists at 127.0.0.1:5432", message)
        for hint in ("--keepdb", "--noinput"):
            self.assertIn(hint, message)
        creation.create_test_database(self.url, keepdb=True, interactive=False)
        self.assertTrue(creation.database_exists(self.url))
        creation.destroy_test_database(self.url)
        self.assertFalse(creation.database_exists(self.url))

    def test_unreachable_server(self):
        with self.assertRaises(ConfigurationError) as cm:
            maintenance.connect_maintenance("postgresql://postgres:secret@127.0.0.1:1/test_x")
        message = str(cm.exception)
        self.assertIn("127.0.0.1:1", message)
        self.assertNotIn("secret", message)
        self.assertIn("Check that the server is running", message)

    def test_plain_postgresql_url_works(self):
        creation.create_test_database("postgresql://postgres@127.0.0.1:5432/test_postgres")
        self.assertTrue(creation.database_exists(self.url))


if __name__ == "__main__":
    unittest.main()
