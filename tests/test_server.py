"""The throwaway server, started for real: no mocks of PostgreSQL."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
from unittest import mock

from flask_dbtestcase import tag
from flask_dbtestcase.errors import ConfigurationError, PostgreSQLNotFound
from flask_dbtestcase.postgres import directories, identity, initdb_cache, processes, reaper, server
from flask_dbtestcase.postgres.binaries import find_postgres_bin, server_version
from tests.support import (
    ROOT,
    Project,
    parent_pid,
    pid_running,
    process_status,
    removed,
    run_sql,
    scratch_dir,
    server_config,
    set_env,
    wait_until,
)


def query(srv: server.ThrowawayServer, statement: str):
    """The first value ``statement`` returns on the server's postgres database."""
    return run_sql(srv.url("postgres", "psycopg2"), statement)[0][0]


class ServerTests(unittest.TestCase):
    def start(self) -> server.ThrowawayServer:
        srv = server.ThrowawayServer.start(server_config())
        self.addCleanup(srv.stop)
        return srv

    def test_start_then_stop_leaves_nothing(self):
        srv = self.start()
        pid = srv.postmaster.child_process.pid
        self.assertEqual(query(srv, "SELECT 1"), 1)
        self.assertTrue(pid_running(pid))
        srv.stop()
        self.assertFalse(pid_running(pid))
        self.assertTrue(removed(srv.base_dir))
        srv.stop()  # idempotent

    def test_stop_after_the_server_died_removes_the_directory(self):
        srv = self.start()
        os.kill(srv.postmaster.child_process.pid, signal.SIGKILL)
        srv.postmaster.child_process.wait()
        srv.stop()
        self.assertTrue(removed(srv.base_dir))

    def test_leaves_no_shared_memory_segments_behind(self):
        def segments() -> set[str]:
            names = os.listdir("/dev/shm") if os.path.isdir("/dev/shm") else []
            return {name for name in names if name.startswith("PostgreSQL.")}

        before = segments()
        srv = self.start()
        self.assertEqual(query(srv, "SHOW dynamic_shared_memory_type"), "mmap")
        os.kill(srv.postmaster.child_process.pid, signal.SIGKILL)  # no clean shutdown at all
        srv.postmaster.child_process.wait()
        srv.stop()
        self.assertEqual(segments() - before, set())

    @unittest.skipUnless(os.geteuid() == 0, "only root must switch users")
    def test_runs_as_an_unprivileged_user_when_root(self):
        srv = self.start()
        uids = process_status(srv.postmaster.child_process.pid, "Uid")
        expected = processes.server_user().pw_uid
        self.assertNotEqual(expected, 0)
        self.assertEqual(set(uids), {str(expected)})
        owner = os.stat(os.path.join(srv.base_dir, "data")).st_uid
        self.assertEqual(owner, expected)

    def test_falls_back_to_the_temp_dir(self):
        with mock.patch.object(directories, "shm_usable", return_value=False):
            srv = self.start()
        self.assertEqual(
            os.path.dirname(srv.base_dir), directories.runtime_paths(server_config())[1]
        )
        self.assertTrue(identity.is_throwaway_url(srv.url("postgres", "psycopg2")))
        self.assertEqual(query(srv, "SELECT 1"), 1)
        srv.stop()
        self.assertTrue(removed(srv.base_dir))

    def test_is_throwaway_url(self):
        srv = self.start()
        self.assertTrue(identity.is_throwaway_url(srv.url("anything", "psycopg2")))
        self.assertFalse(identity.is_throwaway_url("postgresql://postgres@127.0.0.1/x"))
        self.assertFalse(identity.is_throwaway_url("postgresql://postgres@/x?host=/tmp"))
        self.assertFalse(identity.is_throwaway_url("not a url"))
        # A look-alike outside the runtime directory is not ours.
        fake = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, fake)
        os.mkdir(os.path.join(fake, "sock"))
        with open(os.path.join(fake, "sock", identity.MARKER), "w") as f:
            f.write(fake)
        self.assertFalse(identity.is_throwaway_url(f"postgresql://postgres@/x?host={fake}/sock"))
        srv.stop()
        self.assertFalse(identity.is_throwaway_url(srv.url("anything", "psycopg2")))

    def test_is_throwaway_url_whatever_the_settings_say(self):
        # The socket directory is judged by what it is: a server in another
        # runtime directory than the settings now name is still one of ours.
        parent = scratch_dir("fdtrt-", 0o755)
        self.addCleanup(shutil.rmtree, parent, True)
        set_env(self, FLASK_DBTESTCASE_RUNTIME_DIR=parent)
        srv = self.start()
        self.assertTrue(srv.base_dir.startswith(parent))
        set_env(self, FLASK_DBTESTCASE_RUNTIME_DIR=None)
        self.assertTrue(identity.is_throwaway_url(srv.url("anything", "psycopg2")))

    def test_timeouts_as_postgresql_reads_them_spaces_included(self):
        config = dataclasses.replace(server_config(), lock_timeout="3 s", statement_timeout="1 min")
        srv = server.ThrowawayServer.start(config)
        self.addCleanup(srv.stop)
        self.assertEqual(query(srv, "SHOW lock_timeout"), "3s")
        self.assertEqual(query(srv, "SHOW statement_timeout"), "1min")

    def test_process_server_is_one_per_process_and_stopped_at_exit(self):
        code = textwrap.dedent(
            """
            import os
            from flask_dbtestcase.cases import testdb
            srv = testdb.ensure_run().databases.server
            assert testdb.ensure_run().databases.server is srv
            if os.fork() == 0:  # a forked child must not stop its parent's server
                srv.stop()
                os._exit(0)
            os.wait()
            assert srv.is_server_available()
            print(srv.base_dir, srv.postmaster.child_process.pid, flush=True)
            """
        )
        out = Project(self, directory=ROOT).run([], command=[sys.executable, "-c", code])
        self.assertEqual(out.returncode, 0, out.stderr)
        base_dir, pid = out.stdout.split()
        self.assertTrue(removed(base_dir))
        self.assertTrue(wait_until(lambda: not pid_running(int(pid)), 5))


class ThrowawayCheckTests(unittest.TestCase):
    """A socket directory is a throwaway server's by its structure: each
    look-alike below lacks one part of it."""

    def look_alike(self, runtime_name: str | None = None, pid: int | None = None) -> str:
        """``<runtime>/srv-1-look/sock``, its marker, and ``pid`` as its postmaster."""
        parent = scratch_dir("fdtlook-")
        self.addCleanup(shutil.rmtree, parent, True)
        runtime = os.path.join(parent, runtime_name or f"flask-dbtestcase-{os.geteuid()}")
        base = os.path.join(runtime, "srv-1-look")
        sock = os.path.join(base, "sock")
        os.makedirs(sock, 0o700)
        os.mkdir(os.path.join(base, "data"), 0o700)
        processes.write_private(os.path.join(sock, identity.MARKER), base + "\n")
        postmaster = os.getpid() if pid is None else pid
        processes.write_private(os.path.join(base, "data", "postmaster.pid"), f"{postmaster}\n")
        return sock

    def test_the_whole_structure_is_ours(self):
        sock = self.look_alike()
        data = os.path.join(os.path.dirname(sock), "data")
        self.assertEqual(identity.throwaway_data_dir(sock), data)
        self.assertEqual(identity.throwaway_data_dir(sock + "/"), data)

    def test_not_under_a_runtime_directory(self):
        self.assertIsNone(identity.throwaway_data_dir(self.look_alike("flask-dbtestcase-x")))

    def test_a_dead_postmaster(self):
        proc = subprocess.Popen([sys.executable, "-c", "pass"])
        proc.wait()
        self.assertIsNone(identity.throwaway_data_dir(self.look_alike(pid=proc.pid)))

    def test_a_marker_naming_another_directory(self):
        sock = self.look_alike()
        processes.write_private(os.path.join(sock, identity.MARKER), "/elsewhere\n")
        self.assertIsNone(identity.throwaway_data_dir(sock))

    def test_not_a_server_directory(self):
        sock = self.look_alike()
        renamed = os.path.join(os.path.dirname(os.path.dirname(sock)), "other")
        os.rename(os.path.dirname(sock), renamed)
        processes.write_private(os.path.join(renamed, "sock", identity.MARKER), renamed + "\n")
        self.assertIsNone(identity.throwaway_data_dir(os.path.join(renamed, "sock")))

    @unittest.skipUnless(os.geteuid() == 0, "only root can give a directory to another user")
    def test_a_runtime_directory_of_another_user(self):
        sock = self.look_alike()
        os.chown(os.path.dirname(os.path.dirname(sock)), processes.server_user().pw_uid, -1)
        self.assertIsNone(identity.throwaway_data_dir(sock))


class SharedServerTests(unittest.TestCase):
    """What a running server looks like: one server, looked at by every test."""

    @classmethod
    def setUpClass(cls):
        cls.srv = server.ThrowawayServer.start(server_config())
        cls.addClassCleanup(cls.srv.stop)

    def test_url(self):
        srv = self.srv
        for driver in ("psycopg", "psycopg2"):  # the run's driver, named from the start
            self.assertEqual(
                srv.url("app", driver),
                f"postgresql+{driver}://postgres@:5432/app?host={srv.socket_dir}",
            )  # the port named: a URL without one would take libpq's PGPORT

    def test_private_socket_and_no_tcp(self):
        srv = self.srv
        mode = stat.S_IMODE(os.stat(srv.socket_dir).st_mode)
        self.assertEqual(mode, 0o700)
        self.assertTrue(os.path.exists(os.path.join(srv.socket_dir, ".s.PGSQL.5432")))
        self.assertEqual(query(srv, "SHOW listen_addresses"), "")
        pid = srv.postmaster.child_process.pid
        inodes = {
            os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1]
            for fd in os.listdir(f"/proc/{pid}/fd")
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:[")
        }
        self.assertTrue(inodes)  # it does have its unix socket
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            if os.path.exists(table):
                with open(table) as f:
                    tcp = {line.split()[9] for line in list(f)[1:]}
                self.assertFalse(inodes & tcp, f"postgres has a TCP socket ({table})")

    def test_settings_for_speed(self):
        for name in ("fsync", "full_page_writes", "synchronous_commit"):
            self.assertEqual(query(self.srv, f"SHOW {name}"), "off", name)


class CacheTests(unittest.TestCase):
    """initdb runs once; a broken cache entry is rebuilt, never used.

    One private cache for the class: the first start runs initdb. Every test
    starts a server first, so it begins with a complete entry whatever the
    tests before it did (a start rebuilds a broken one).
    """

    @classmethod
    def setUpClass(cls):
        cls.cache = scratch_dir("fdt-cache-")
        cls.addClassCleanup(shutil.rmtree, cls.cache, True)

    def setUp(self):
        set_env(self, FLASK_DBTESTCASE_CACHE_DIR=self.cache)

    def start(self) -> tuple[server.ThrowawayServer, float]:
        started = time.perf_counter()
        srv = server.ThrowawayServer.start(server_config())
        elapsed = time.perf_counter() - started
        self.addCleanup(srv.stop)
        self.assertEqual(query(srv, "SELECT 1"), 1)
        return srv, elapsed

    def entries(self) -> list[str]:
        # Not the locks, nor the remembered versions (.version-*).
        return [name for name in os.listdir(self.cache) if not name.startswith(".")]

    def entry(self) -> str:
        (name,) = self.entries()
        self.assertTrue(name.startswith("initdb-"), name)
        return os.path.join(self.cache, name)

    def test_second_start_reuses_the_cache(self):
        self.start()
        entry = self.entry()
        before = os.stat(os.path.join(entry, "complete"))
        _, warm = self.start()
        after = os.stat(os.path.join(entry, "complete"))
        self.assertEqual((before.st_ino, before.st_mtime_ns), (after.st_ino, after.st_mtime_ns))
        self.assertEqual(self.entries(), [os.path.basename(entry)])
        self.assertLess(warm, 1.0)

    def test_half_written_entry_is_rebuilt(self):
        # As an interrupted non-atomic writer would leave it (no marker, parts
        # of the data directory missing): it would not boot.
        self.start()
        entry = self.entry()
        os.remove(os.path.join(entry, "complete"))
        for part in ("base", "global"):
            shutil.rmtree(os.path.join(entry, "data", part))
        self.start()
        self.assertTrue(os.path.exists(os.path.join(entry, "complete")))
        for part in ("base", "global"):
            self.assertTrue(os.path.isdir(os.path.join(entry, "data", part)), part)

    @tag("slow")
    def test_entry_without_pg_version_is_rebuilt(self):
        self.start()
        entry = self.entry()
        os.remove(os.path.join(entry, "data", "PG_VERSION"))
        self.start()
        self.assertTrue(os.path.exists(os.path.join(entry, "data", "PG_VERSION")))


class KillAndWaitTests(unittest.TestCase):
    """kill_and_wait returns once the process is gone, and reaps a child of ours."""

    def child(self, script: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        assert proc.stdout is not None
        proc.stdout.readline()  # its signal handlers are set
        return proc

    def test_a_child_is_stopped_and_reaped(self):
        proc = self.child("import time; print(flush=True); time.sleep(60)")
        started = time.monotonic()
        processes.kill_and_wait(proc.pid, timeout=5.0, sig=signal.SIGTERM)
        self.assertLess(time.monotonic() - started, 2.0)
        with self.assertRaises(ChildProcessError):  # reaped: no zombie left
            os.waitpid(proc.pid, os.WNOHANG)

    def test_one_that_ignores_the_signal_is_killed_after_the_timeout(self):
        proc = self.child(
            "import signal, time; signal.signal(signal.SIGQUIT, signal.SIG_IGN); "
            "print(flush=True); time.sleep(60)"
        )
        started = time.monotonic()
        processes.kill_and_wait(proc.pid, timeout=0.3)
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, 0.3)
        self.assertLess(elapsed, 2.0)
        self.assertFalse(processes.pid_alive(proc.pid))

    def test_a_process_already_gone(self):
        proc = self.child("print(flush=True)")
        proc.wait()
        processes.kill_and_wait(proc.pid, timeout=0.5)  # returns at once, raises nothing


class VersionCacheTests(unittest.TestCase):
    """``postgres --version`` runs once per binary; a changed binary is asked again."""

    def setUp(self):
        self.cache = scratch_dir("fdt-cache-")
        self.addCleanup(shutil.rmtree, self.cache, True)
        set_env(self, FLASK_DBTESTCASE_CACHE_DIR=self.cache)
        self.bin_dir = scratch_dir("fdt-fakebin-")
        self.addCleanup(shutil.rmtree, self.bin_dir, True)
        self.calls = os.path.join(self.bin_dir, "calls")
        self.addCleanup(initdb_cache.cached_server_version.cache_clear)
        self.addCleanup(server_version.cache_clear)

    def install(self, version: str) -> None:
        path = os.path.join(self.bin_dir, "postgres")
        with open(path, "w") as f:
            f.write(f'#!/bin/sh\necho x >> {self.calls}\necho "postgres (PostgreSQL) {version}"\n')
        os.chmod(path, 0o755)

    def version(self) -> tuple[str, int]:
        """The version (as a new process would find it), and how often postgres ran."""
        initdb_cache.cached_server_version.cache_clear()
        server_version.cache_clear()
        version = initdb_cache.cached_server_version(self.bin_dir, self.cache)
        with open(self.calls) as f:
            return version, len(f.readlines())

    def test_remembered_across_processes(self):
        self.install("99.1")
        self.assertEqual(self.version(), ("99.1", 1))
        self.assertEqual(self.version(), ("99.1", 1))
        (name,) = [n for n in os.listdir(self.cache) if n.startswith(".version-")]
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.cache, name)).st_mode), 0o600)

    def test_changed_binary_is_asked_again(self):
        self.install("99.1")
        self.assertEqual(self.version(), ("99.1", 1))
        time.sleep(0.01)  # a new mtime even on coarse clocks
        self.install("99.2")
        self.assertEqual(self.version(), ("99.2", 2))
        self.assertEqual(self.version(), ("99.2", 2))

    def test_each_cache_directory_gets_its_entry(self):
        # One process, two configurations: the version is remembered in each one's cache.
        self.install("99.1")
        other = scratch_dir("fdt-cache-")
        self.addCleanup(shutil.rmtree, other, True)
        for cache in (self.cache, other):
            self.assertEqual(initdb_cache.cached_server_version(self.bin_dir, cache), "99.1")
            self.assertEqual(len([n for n in os.listdir(cache) if n.startswith(".version-")]), 1)

    def test_a_corrupt_entry_is_replaced(self):
        self.install("99.1")
        self.version()
        (name,) = [n for n in os.listdir(self.cache) if n.startswith(".version-")]
        with open(os.path.join(self.cache, name), "w") as f:
            f.write("garbage")
        self.assertEqual(self.version(), ("99.1", 2))
        self.assertEqual(self.version(), ("99.1", 2))


class CacheDirTests(unittest.TestCase):
    """The cache directory each configuration names, found again for another one."""

    def scratch(self) -> str:
        path = scratch_dir("fdt-cachedir-")
        self.addCleanup(shutil.rmtree, path, True)
        return path

    def test_each_configuration_gets_its_own(self):
        first, second = self.scratch(), self.scratch()
        for cache in (first, second, first):
            config = dataclasses.replace(server_config(), cache_dir=cache)
            self.assertEqual(initdb_cache.cache_dir(config), cache)

    def test_the_fallback_is_in_each_configurations_runtime_directory(self):
        unusable = os.path.join(self.scratch(), "a-file")
        with open(unusable, "w"):
            pass
        for _ in range(2):
            runtime = self.scratch()
            config = dataclasses.replace(server_config(), cache_dir=unusable, runtime_dir=runtime)
            with contextlib.redirect_stderr(io.StringIO()) as said:
                found = initdb_cache.cache_dir(config)
            self.assertEqual(found, os.path.join(directories.runtime_dir(config), "cache"))
            self.assertTrue(found.startswith(runtime), found)
            self.assertIn(f"cannot use the cache directory {unusable}", said.getvalue())


class BootFailureTests(unittest.TestCase):
    def setUp(self):
        self.cache = scratch_dir("fdt-cache-")  # its initdb entry is the fake version's
        self.addCleanup(shutil.rmtree, self.cache, True)
        set_env(self, FLASK_DBTESTCASE_CACHE_DIR=self.cache)

    def test_boot_failure_reports_the_log(self):
        fake = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, fake)
        os.chmod(fake, 0o755)
        real = find_postgres_bin(server_config())
        os.symlink(os.path.join(real, "initdb"), os.path.join(fake, "initdb"))
        with open(os.path.join(fake, "postgres"), "w") as f:
            f.write('#!/bin/sh\necho "FATAL:  pretend boot failure" >&2\nexit 1\n')
        os.chmod(os.path.join(fake, "postgres"), 0o755)
        before = set(os.listdir(directories.runtime_dir(server_config())))
        set_env(self, FLASK_DBTESTCASE_PG_BIN=fake)
        with self.assertRaises(ConfigurationError) as cm:
            server.ThrowawayServer.start(server_config())
        self.assertIn("pretend boot failure", str(cm.exception))
        self.assertNotIn("\n", str(cm.exception))

        def leftovers() -> set[str]:  # its directory goes in a background rm
            return {
                n for n in set(os.listdir(directories.runtime_dir(server_config()))) - before
                if n.startswith(f"srv-{os.getpid()}-")
            }  # fmt: skip

        wait_until(lambda: not leftovers(), 5)
        self.assertEqual(leftovers(), set())


class NotFoundTests(unittest.TestCase):
    def test_empty_bin_dir(self):
        empty = tempfile.mkdtemp()
        self.addCleanup(os.rmdir, empty)
        with mock.patch.dict(os.environ, {"FLASK_DBTESTCASE_PG_BIN": empty}):
            with self.assertRaises(PostgreSQLNotFound) as cm:
                find_postgres_bin(server_config())
            with self.assertRaises(PostgreSQLNotFound):
                server.ThrowawayServer.start(server_config())
        message = str(cm.exception)
        self.assertNotIn("\n", message)
        for hint in (empty, "apt-get install postgresql", "brew install", "--database-url",
                     "TEST_DATABASE_URL"):  # fmt: skip
            self.assertIn(hint, message)

    def test_found_on_this_machine(self):
        bin_dir = find_postgres_bin(server_config())
        self.assertTrue(os.access(os.path.join(bin_dir, "postgres"), os.X_OK))


KILLED_CHILD = """
import sys, threading, time
from flask_dbtestcase.postgres import server
from flask_dbtestcase.settings import Settings
box = []
config = Settings.load().server_config()
if sys.argv[1] == "thread":  # spawned off the main thread: no death signal
    t = threading.Thread(target=lambda: box.append(server.ThrowawayServer.start(config)))
    t.start(); t.join()
else:
    box.append(server.ThrowawayServer.start(config))
print(box[0].base_dir, box[0].postmaster.child_process.pid, flush=True)
time.sleep(60)
"""


class ReapTests(unittest.TestCase):
    def setUp(self):
        # A private runtime dir: other runs on this machine reap stale
        # servers too, and must not do this test's work for it.
        parent = scratch_dir("fdtrt-", 0o755)
        self.addCleanup(shutil.rmtree, parent, True)
        set_env(self, FLASK_DBTESTCASE_RUNTIME_DIR=parent)
        self.project = Project(self, directory=ROOT, env={"FLASK_DBTESTCASE_RUNTIME_DIR": parent})

    def start_and_kill_owner(self, mode: str) -> tuple[str, int]:
        child = self.project.popen([mode], command=[sys.executable, "-c", KILLED_CHILD])
        base_dir, pid = child.stdout.readline().split()
        self.addCleanup(processes.kill_and_wait, int(pid), 2.0)  # even if a test fails
        self.assertTrue(base_dir.startswith(os.environ["FLASK_DBTESTCASE_RUNTIME_DIR"]))
        self.assertTrue(os.path.isdir(base_dir))
        child.kill()
        child.wait()
        self.owner = child.pid
        return base_dir, int(pid)

    def test_postmaster_dies_with_its_owner_and_the_dir_is_reaped(self):
        base_dir, pid = self.start_and_kill_owner("main")
        self.assertTrue(wait_until(lambda: not pid_running(pid), 2), "PDEATHSIG")
        self.assertTrue(os.path.isdir(base_dir))  # nobody reaped it yet
        self.assertEqual(reaper.reap_stale(server_config()), 1)
        self.assertFalse(os.path.exists(base_dir))

    def test_reap_stops_a_postmaster_left_running(self):
        base_dir, pid = self.start_and_kill_owner("thread")
        # Its owner is gone (it has another parent now), and it still serves.
        self.assertTrue(wait_until(lambda: parent_pid(pid) != self.owner, 10))
        socket_dir = os.path.join(base_dir, "sock")
        served = run_sql(f"postgresql://postgres@/postgres?host={socket_dir}", "SELECT 1")
        self.assertEqual(served, [(1,)])
        self.assertTrue(pid_running(pid), "expected no death signal off the main thread")
        self.assertEqual(reaper.reap_stale(server_config()), 1)
        self.assertFalse(pid_running(pid))
        self.assertFalse(os.path.exists(base_dir))

    def test_live_servers_are_left_alone(self):
        srv = server.ThrowawayServer.start(server_config())
        self.addCleanup(srv.stop)
        self.assertEqual(reaper.reap_stale(server_config()), 0)
        self.assertTrue(os.path.isdir(srv.base_dir))
        self.assertEqual(query(srv, "SELECT 1"), 1)


@unittest.skipUnless(os.geteuid() == 0, "only root has an unprivileged server user")
class UserTests(unittest.TestCase):
    def test_server_user(self):
        try:
            expected = pwd.getpwnam("postgres")
        except KeyError:
            expected = pwd.getpwnam("nobody")
        self.assertEqual(processes.server_user().pw_uid, expected.pw_uid)
        mode = stat.S_IMODE(os.stat(directories.runtime_dir(server_config())).st_mode)
        self.assertEqual(mode, 0o711)


if __name__ == "__main__":
    unittest.main()


class Pg8000StandInTests(unittest.TestCase):
    """Starting a server does not import pg8000; testing.postgresql still gets the real one."""

    def test_imported_only_when_something_uses_it(self):
        script = textwrap.dedent(
            """
            import sys
            import flask_dbtestcase.postgres.postmaster
            print("pg8000" in sys.modules, "scramp" in sys.modules)
            import testing.postgresql  # someone else's server, in the same process
            print(testing.postgresql.pg8000.Error.__module__)
            print(testing.postgresql.pg8000 is sys.modules["pg8000"])
            import pg8000.native  # a package, as it really is
            print(pg8000.native.__name__)
            """
        )
        proc = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(
            proc.stdout.split("\n"),
            ["False False", "pg8000.exceptions", "True", "pg8000.native", ""],
        )
