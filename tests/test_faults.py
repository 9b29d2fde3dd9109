"""Faults survived, nothing left behind (issue #5).

Every case writes a tiny project to a temporary directory and runs it the
way a user would: ``python -m flask_dbtestcase`` (the runner) or ``python -m
unittest``, in a subprocess where the fault needs a process of its own (a
run killed or interrupted, ``--parallel`` workers, memory measured), and
otherwise in this process (``Project.run_here``: the same entry point, its
output captured). Each project gets a private runtime directory
(``FLASK_DBTESTCASE_RUNTIME_DIR``), so "nothing left behind" is exact: that
directory must be empty afterwards and no postgres process may still run
from it. Every subprocess has a timeout: a hang is a failure, not a stuck CI.

Already covered elsewhere, not repeated here: a test killing its own backend
and invalidating the connection (test_isolation.LostConnectionTests);
SIGINT/SIGTERM while a test sleeps, unknown options, a non-PostgreSQL
``--database-url``, an existing test database (test_runner); bad app
factories, no Flask-SQLAlchemy, PostgreSQL missing (test_errors).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import struct
import sys
import tempfile
import textwrap
import threading
import time
import unittest

import psycopg2

from flask_dbtestcase import tag
from tests.support import (
    SYSTEM_SERVER,
    Project,
    Result,
    app_source,
    parent_pid,
    pid_running,
    run_sql,
    scratch_dir,
    server_available,
    system_sql,
    wait_until,
)

TIMEOUT = 60  # no single run may take longer: a hang fails the test

APP = app_source(
    "fault_thing",
    extra='''
def connect_separately():
    """A psycopg2 connection of the test's own, outside the framework."""
    import psycopg2
    url = db.engine.url
    args = dict(url.query)
    args.update(url.translate_connect_args(username="user", database="dbname"))
    return psycopg2.connect(**args)
''',
)

HEADER = """
import os, sys, time
import sqlalchemy as sa
from flask_dbtestcase import FlaskDBTestCase, FlaskDBTransactionTestCase
from myapp import db, Thing, connect_separately
"""


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` added (the system server trusts, so it is accepted)."""
    return re.sub(r"://([^:@/]*)@", lambda m: f"://{m.group(1)}:{password}@", url, count=1)


def fault_project(
    case: unittest.TestCase,
    tests: dict[str, str],
    app: str = APP,
    env: dict[str, str] | None = None,
    cache: str | None = None,
) -> Project:
    """A throwaway project (``myapp`` and the test modules ``tests``) with a
    private runtime directory, run by the runner unless told otherwise."""
    files = {"myapp.py": app}
    files.update({name: HEADER + textwrap.dedent(text) for name, text in tests.items()})
    return Project(
        case,
        files,
        module="flask_dbtestcase",
        env=env,
        timeout=TIMEOUT,
        private_runtime=True,
        cache=cache,
    )


def active_query(project: Project, fragment: str) -> bool:
    """Whether a query containing ``fragment`` runs on a server of the project's."""
    for name in os.listdir(project.runtime_dir):
        socket_dir = os.path.join(project.runtime_dir, name, "sock")
        try:
            rows = run_sql(
                f"postgresql://postgres@/postgres?host={socket_dir}",
                "SELECT query FROM pg_stat_activity WHERE state = 'active'"
                " AND pid <> pg_backend_pid()",
            )
        except psycopg2.Error:
            continue
        if any(fragment in query for (query,) in rows):
            return True
    return False


def runner_or_unittest(unittest_mode: bool) -> str:
    """The module a run starts: the package's runner, or plain unittest."""
    return "unittest" if unittest_mode else "flask_dbtestcase"


def line_for(output: str, fragment: str) -> str:
    return next((line for line in output.splitlines() if fragment in line), "")


# ---------------------------------------------------------------------------
# A killed run
# ---------------------------------------------------------------------------

SLEEPER = """
class Sleeper(FlaskDBTestCase):
    app_factory = "myapp:create_app"
    def test_sleeps(self):
        db.session.add(Thing(name="before the kill"))
        db.session.flush()
        print("READY", os.getpid(), flush=True)
        time.sleep(float(os.environ.get("SLEEP", "60")))
"""

QUICK = """
class Quick(FlaskDBTestCase):
    app_factory = "myapp:create_app"
    def test_quick(self):
        self.assertEqual(Thing.query.count(), 0)
        print("QUICK RAN", flush=True)
"""


@tag("slow")
class KilledRunTests(unittest.TestCase):
    """SIGKILL mid-run: the server goes with it; the next run (made in this
    process) removes the rest."""

    def kill_mid_run(self, project: Project, unittest_mode: bool) -> str:
        args = ["test_sleeper"] if unittest_mode else ["-p", "test_sleeper.py"]
        proc = project.popen(args, runner_or_unittest(unittest_mode))
        line = proc.stdout.readline()
        self.assertTrue(line.startswith("READY"), line + proc.stderr.read() if not line else line)
        (server_dir,) = os.listdir(project.runtime_dir)
        self.assertTrue(server_dir.startswith(f"srv-{proc.pid}-"), server_dir)
        with open(os.path.join(project.runtime_dir, server_dir, "owner")) as f:
            self.assertEqual(int(f.read().split()[0]), proc.pid)  # the pid record
        proc.send_signal(signal.SIGKILL)
        proc.wait(TIMEOUT)
        # The postmaster dies with its owner (PR_SET_PDEATHSIG) ...
        self.assertTrue(
            wait_until(lambda: not project.postgres_processes(), 10), project.postgres_processes()
        )
        # ... but nothing could remove the directory: the next run must.
        self.assertEqual(os.listdir(project.runtime_dir), [server_dir])
        return server_dir

    def check(self, unittest_mode: bool) -> None:
        project = fault_project(self, {"test_sleeper.py": SLEEPER, "test_quick.py": QUICK})
        self.kill_mid_run(project, unittest_mode)
        args = ["test_quick"] if unittest_mode else ["-p", "test_quick.py"]
        result = project.run_here(args, runner_or_unittest(unittest_mode), outside=True)
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("QUICK RAN", result.stdout)

    def test_runner_killed(self):
        self.check(unittest_mode=False)

    def test_unittest_killed(self):
        self.check(unittest_mode=True)

    def test_left_running_postmaster_is_stopped_by_the_next_run(self):
        # A postmaster that outlived its owner (no death signal: started off
        # the main thread, or a platform without PDEATHSIG) is stopped too.
        project = fault_project(self, {"test_sleeper.py": SLEEPER, "test_quick.py": QUICK})
        code = textwrap.dedent("""
            import threading, time
            from flask_dbtestcase.postgres import server
            from flask_dbtestcase.settings import Settings
            box = []
            config = Settings.load().server_config()
            t = threading.Thread(target=lambda: box.append(server.ThrowawayServer.start(config)))
            t.start(); t.join()
            print(box[0].postmaster.child_process.pid, box[0].socket_dir, flush=True)
            time.sleep(60)
        """)
        proc = project.popen([], command=[sys.executable, "-c", code])
        postmaster, socket_dir = proc.stdout.readline().split()
        postmaster = int(postmaster)
        proc.kill()
        proc.wait(TIMEOUT)
        # Its owner is gone (it has another parent now), and it still serves.
        self.assertTrue(wait_until(lambda: parent_pid(postmaster) != proc.pid, 10))
        served = run_sql(f"postgresql://postgres@/postgres?host={socket_dir}", "SELECT 1")
        self.assertEqual(served, [(1,)])
        self.assertTrue(pid_running(postmaster))
        result = project.run_here(["-p", "test_quick.py"], outside=True)
        self.assertEqual(result.returncode, 0, result)
        self.assertFalse(pid_running(postmaster))


@tag("slow")
class ColdCacheTests(unittest.TestCase):
    """The initdb cache under faults: killed while it is built, and two runs
    building it at once."""

    def setUp(self):
        self.cache = scratch_dir("fdt-cache-")
        self.addCleanup(shutil.rmtree, self.cache, True)

    def entries(self) -> list[str]:
        # Entries under their final names: not the locks, staging copies or .version-*.
        return sorted(n for n in os.listdir(self.cache) if not n.startswith("."))

    def test_killed_during_initdb_then_the_next_run_builds_the_entry(self):
        # (A half-written entry being rebuilt: test_server.CacheTests.)
        project = fault_project(self, {"test_quick.py": QUICK}, cache=self.cache)
        proc = project.popen(["-p", "test_quick.py"])
        started = time.monotonic()
        initdb_dir = f"initdb-{proc.pid}-"
        self.assertTrue(
            wait_until(
                lambda: (
                    os.path.isdir(project.runtime_dir)
                    and any(n.startswith(initdb_dir) for n in os.listdir(project.runtime_dir))
                ),
                20,
            ),
            "initdb never started",
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(TIMEOUT)
        self.assertEqual(
            self.entries(), [], "a half-built cache entry appeared under its final name"
        )
        # The next run, in this process (outside this run: a server of its own).
        result = project.run_here(["-p", "test_quick.py"], outside=True)
        self.assertEqual(result.returncode, 0, result)
        (entry,) = self.entries()
        self.assertTrue(os.path.isfile(os.path.join(self.cache, entry, "complete")))
        self.assertTrue(os.path.isdir(os.path.join(self.cache, entry, "data", "global")))
        self.assertLess(time.monotonic() - started, 45)

    def test_two_runs_at_once_share_nothing_but_the_cache(self):
        test = '''
            def meet(tag):
                """Wait until the other run has got here too (each leaves a file)."""
                directory = os.environ["RENDEZVOUS"]
                mine = "%s-%d" % (tag, os.getpid())
                open(os.path.join(directory, mine), "w").close()
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    if any(n.startswith(tag + "-") and n != mine for n in os.listdir(directory)):
                        return
                    time.sleep(0.01)
                raise AssertionError("the other run never got to " + tag)

            class Concurrent(FlaskDBTestCase):
                app_factory = "myapp:create_app"
                def test_alone(self):
                    db.session.add(Thing(name="run %d" % os.getpid()))
                    db.session.commit()
                    meet("alone")  # both runs are in this test now
                    print("NAMES", [t.name for t in Thing.query.all()])
                    print("SOCKET", db.engine.url.query.get("host"))
                    self.assertEqual(Thing.query.count(), 1)

            class Committed(FlaskDBTransactionTestCase):
                app_factory = "myapp:create_app"
                def test_commits_for_real(self):
                    db.session.add(Thing(name="committed %d" % os.getpid()))
                    db.session.commit()
                    meet("committed")
                    self.assertEqual(Thing.query.count(), 1)
        '''
        rendezvous = tempfile.mkdtemp(prefix="fdt-meet-")
        self.addCleanup(shutil.rmtree, rendezvous, True)
        env = {"RENDEZVOUS": rendezvous}
        first = fault_project(self, {"test_concurrent.py": test}, cache=self.cache, env=env)
        second = fault_project(self, {"test_concurrent.py": test}, cache=self.cache, env=env)
        # The same runtime directory too: one user, one machine.
        second.runtime_parent = first.runtime_parent
        second.env["FLASK_DBTESTCASE_RUNTIME_DIR"] = first.runtime_parent
        # One run in a subprocess, the other in this process, at the same time.
        started = time.monotonic()
        proc = first.popen(["-v", "2", "-p", "test_concurrent.py"])
        here = second.run_here(["-v", "2", "-p", "test_concurrent.py"], outside=True, clean=False)
        results = [first.finish(proc, started), here]
        for result in results:
            self.assertEqual(result.returncode, 0, result)
        sockets = {line_for(r.stdout, "SOCKET") for r in results}
        self.assertEqual(len(sockets), 2, sockets)
        self.assertEqual(len(self.entries()), 1, self.entries())  # one initdb
        first.assertNothingLeft()


# ---------------------------------------------------------------------------
# Interrupted runs
# ---------------------------------------------------------------------------

IN_QUERY = """
class InQuery(FlaskDBTestCase):
    app_factory = "myapp:create_app"
    def test_1_quick(self):
        pass
    def test_2_long_query(self):
        print("QUERYING", flush=True)
        db.session.execute(sa.text("SELECT pg_sleep(30)"))
    def test_3_never(self):
        print("TEST 3 RAN", flush=True)
"""


@tag("slow")
class InterruptTests(unittest.TestCase):
    """Ctrl-C / SIGTERM while a test waits on the database: prompt stop."""

    def interrupt(self, signum: int, unittest_mode: bool = False) -> Result:
        project = fault_project(self, {"test_query.py": IN_QUERY})
        args = ["test_query"] if unittest_mode else ["-p", "test_query.py"]
        started = time.monotonic()
        proc = project.popen(args, runner_or_unittest(unittest_mode))
        self.assertEqual(proc.stdout.readline().strip(), "QUERYING")
        self.assertTrue(
            wait_until(lambda: active_query(project, "pg_sleep(30)"), 10), "the query never started"
        )  # well inside pg_sleep
        interrupted = time.monotonic()
        proc.send_signal(signum)
        result = project.finish(proc, started)
        self.assertLess(time.monotonic() - interrupted, 8, f"not a prompt stop\n{result}")
        self.assertNotEqual(result.returncode, 0, result)
        self.assertNotIn("TEST 3 RAN", result.stdout)
        project.assertNothingLeft(result)
        return result

    def test_sigint_during_a_query(self):
        result = self.interrupt(signal.SIGINT)
        self.assertEqual(result.returncode, 130, result)
        self.assertIn("Interrupted: 2 tests ran", result.stderr)

    def test_sigterm_during_a_query(self):
        result = self.interrupt(signal.SIGTERM)
        self.assertEqual(result.returncode, 130, result)
        self.assertIn("Interrupted: 2 tests ran", result.stderr)

    def test_sigint_under_unittest(self):
        result = self.interrupt(signal.SIGINT, unittest_mode=True)
        self.assertIn("KeyboardInterrupt", result.stderr)

    def test_sigterm_under_unittest(self):
        # Outside the runner SIGTERM becomes a KeyboardInterrupt too, so the
        # server is stopped and its directory removed at exit.
        result = self.interrupt(signal.SIGTERM, unittest_mode=True)
        self.assertIn("KeyboardInterrupt: SIGTERM", result.stderr)


# ---------------------------------------------------------------------------
# Tests that hang, leave transactions open, break their connection
# ---------------------------------------------------------------------------

#: For the runs made in this process, which cannot be killed: a lock wait the
#: lock timeout failed to end is still ended (as another error) by this bound.
HANG_GUARD = {"FLASK_DBTESTCASE_STATEMENT_TIMEOUT": "30s"}
#: The lock timeout of the runs that wait on a lock on purpose (as PostgreSQL
#: shows it): every lock they wait on is held until the wait fails.
SHORT_LOCK_TIMEOUT = "300ms"
SHORT_LOCK_WAITS = {"FLASK_DBTESTCASE_LOCK_TIMEOUT": SHORT_LOCK_TIMEOUT}


#: A class whose second test waits on a row its own transaction locked.
LOCK_SUITE = """
            class Locks(FlaskDBTestCase):
                app_factory = "myapp:create_app"
                def test_0_default_lock_timeout(self):
                    print("LOCK_TIMEOUT", db.session.execute(sa.text("SHOW lock_timeout")).scalar())
                def test_1_waits_on_its_own_transaction(self):
                    db.session.add(Thing(name="taken"))
                    db.session.flush()  # row locked by the test's transaction
                    other = connect_separately()
                    try:
                        with other.cursor() as cur:  # waits for the test's transaction: forever
                            cur.execute("INSERT INTO fault_thing (name) VALUES ('taken')")
                    finally:
                        other.close()
                def test_2_next_test_runs(self):
                    db.session.add(Thing(name="taken"))
                    db.session.commit()
                    self.assertEqual(Thing.query.count(), 1)
                    print("NEXT TEST RAN", flush=True)
"""


@tag("slow")
class HangingTests(unittest.TestCase):
    """In this process, outside this run: servers of their own, with a short lock timeout."""

    def test_lock_wait_fails_with_a_clear_error_instead_of_hanging(self):
        project = fault_project(
            self,
            {"test_lock.py": LOCK_SUITE},
        )
        default = project.run_here(["-p", "test_lock.py", "-k", "test_0"], outside=True)
        self.assertEqual(default.returncode, 0, default)
        self.assertIn("LOCK_TIMEOUT 10s", default.stdout)  # the default bound
        result = project.run_here(
            ["-p", "test_lock.py", "-v", "2"], outside=True, env={**SHORT_LOCK_WAITS, **HANG_GUARD}
        )
        self.assertEqual(result.returncode, 1, result)
        self.assertIn(f"LOCK_TIMEOUT {SHORT_LOCK_TIMEOUT}", result.stdout)
        self.assertIn("canceling statement due to lock timeout", result.stderr)
        self.assertIn("NEXT TEST RAN", result.stdout)
        self.assertEqual(result.stderr.strip().splitlines()[-1], "2 passed, 1 failed")
        self.assertLess(result.elapsed, 20)

    @unittest.skipUnless(server_available(), "needs the PostgreSQL server at " + SYSTEM_SERVER)
    def test_lock_wait_fails_on_an_existing_server_too(self):
        project = fault_project(self, {"test_lock.py": LOCK_SUITE})
        url = f"{SYSTEM_SERVER}/fdt_locks_{os.getpid()}"
        result = project.run_here(
            ["-p", "test_lock.py", "-v", "2", "--database-url", url, "--noinput"],
            outside=True,
            env={**SHORT_LOCK_WAITS, **HANG_GUARD},
        )
        self.assertEqual(result.returncode, 1, result)
        self.assertIn(f"LOCK_TIMEOUT {SHORT_LOCK_TIMEOUT}", result.stdout)  # set on the database
        self.assertIn("canceling statement due to lock timeout", result.stderr)
        self.assertIn("NEXT TEST RAN", result.stdout)
        self.assertEqual(result.stderr.strip().splitlines()[-1], "2 passed, 1 failed")
        self.assertLess(result.elapsed, 20)

    def test_transactions_left_open(self):
        project = fault_project(
            self,
            {
                "test_open.py": """
            LEAKED = []
            class Open(FlaskDBTestCase):
                app_factory = "myapp:create_app"
                def test_1_app_connection_left_in_a_transaction(self):
                    conn = db.engine.connect()
                    conn.begin()
                    conn.execute(sa.text("INSERT INTO fault_thing (name) VALUES ('leak')"))
                    db.session.begin_nested()
                    db.session.add(Thing(name="nested leak"))
                    db.session.flush()
                    LEAKED.append(conn)  # neither committed nor closed
                def test_2_does_not_see_it(self):
                    self.assertEqual(Thing.query.count(), 0)
                def test_3_separate_connection_left_holding_a_lock(self):
                    other = connect_separately()
                    other.cursor().execute("LOCK TABLE fault_thing IN ACCESS EXCLUSIVE MODE")
                    LEAKED.append(other)  # idle in transaction, lock held, never closed
                def test_4_blocked_table_is_an_error_not_a_hang(self):
                    Thing.query.count()
                def test_5_other_tables_still_work(self):
                    self.assertEqual(db.session.execute(sa.text("SELECT 1")).scalar(), 1)
        """
            },
        )
        for mode, args in ((False, ["-p", "test_open.py", "-v", "2"]), (True, ["-v", "test_open"])):
            with self.subTest(unittest_mode=mode):
                result = project.run_here(
                    args,
                    runner_or_unittest(mode),
                    outside=True,
                    env={**SHORT_LOCK_WAITS, **HANG_GUARD},
                )
                self.assertEqual(result.returncode, 1, result)
                self.assertRegex(result.stderr, r"test_2_does_not_see_it .*\.\.\. ok")
                self.assertRegex(result.stderr, r"test_5_other_tables_still_work .*\.\.\. ok")
                self.assertIn("lock timeout", result.stderr)
                self.assertRegex(result.stderr, r"FAILED \(errors=1\)")

    def test_closing_the_connection(self):
        # On a database of its own on this run's server: the server is not the subject.
        project = fault_project(
            self,
            {
                "test_close.py": """
            class Closes(FlaskDBTestCase):
                app_factory = "myapp:create_app"
                @classmethod
                def setUpTestData(cls):
                    db.session.add(Thing(name="class data"))
                    db.session.commit()
                def test_1_closes_the_driver_connection(self):
                    db.session.add(Thing(name="doomed"))
                    db.session.flush()
                    db.session.connection().connection.driver_connection.close()
                def test_2_session_close_and_engine_dispose(self):
                    db.session.add(Thing(name="doomed too"))
                    db.session.flush()
                    db.session.close()
                    db.engine.dispose()
                def test_3_still_isolated(self):
                    names = sorted(t.name for t in Thing.query.all())
                    print("NAMES", names, flush=True)
                    db.session.add(Thing(name="fresh"))
                    db.session.commit()
            class Later(FlaskDBTestCase):
                app_factory = "myapp:create_app"
                def test_nothing_leaked(self):
                    names = sorted(t.name for t in Thing.query.all())
                    print("LATER", names, flush=True)
                    self.assertEqual(names, [])
        """
            },
        )
        result = project.run_here(["-p", "test_close.py", "-v", "2"], own_database=True)
        self.assertIn("LATER []", result.stdout)
        names = line_for(result.stdout, "NAMES")
        self.assertEqual(names, "NAMES ['class data']", result)
        self.assertEqual(result.returncode, 0, result)


SERVER_DIES = """
import signal
def gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
def kill_the_server():
    data = db.session.execute(sa.text("SHOW data_directory")).scalar()
    backend = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    with open(os.path.join(data, "postmaster.pid")) as f:
        pid = int(f.readline())
    # The postmaster, then this test's own backend: a backend outlives its
    # postmaster for a moment, and could still answer the test's rollback.
    for victim in (pid, backend):
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not gone(victim) and time.monotonic() < deadline:
            time.sleep(0.01)

class Dies(FlaskDBTestCase):
    app_factory = "myapp:create_app"
    def test_1_kills_the_server(self):
        kill_the_server()
    def test_2_needs_the_database(self):
        self.assertEqual(Thing.query.count(), 0)
    def test_3_needs_it_too(self):
        db.session.add(Thing(name="x"))
        db.session.commit()
"""


class ServerDeathTests(unittest.TestCase):
    """In this process, outside this run: the server killed is the run's own."""

    def test_server_dies_mid_run(self):
        project = fault_project(self, {"test_dies.py": SERVER_DIES})
        result = project.run_here(["-p", "test_dies.py"], outside=True, env=HANG_GUARD)
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("Is the server running", result.stderr)
        self.assertNotIn("error: ", result.stderr)  # no clean-up error on top
        self.assertRegex(result.stderr.strip().splitlines()[-1], r"^0 passed, \d+ failed$")
        self.assertLess(result.elapsed, 20)

    def test_server_dies_under_unittest(self):
        project = fault_project(self, {"test_dies.py": SERVER_DIES})
        result = project.run_here(["test_dies"], "unittest", outside=True, env=HANG_GUARD)
        self.assertNotEqual(result.returncode, 0, result)
        self.assertRegex(result.stderr, r"FAILED \((failures|errors)=")
        self.assertLess(result.elapsed, 20)


# ---------------------------------------------------------------------------
# Bad input, through the runner: one paragraph, non-zero, nothing executed
# ---------------------------------------------------------------------------


class FakeAuthServer:
    """Speaks just enough PostgreSQL to ask for a password and refuse it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.passwords: list[bytes] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    self.handle(conn)
                except OSError:
                    pass

    def handle(self, conn):
        conn.settimeout(5)
        while True:
            (length,) = struct.unpack("!i", conn.recv(4))
            body = conn.recv(length - 4)
            if struct.unpack("!i", body[:4])[0] in (80877103, 80877104):  # SSL/GSS request
                conn.sendall(b"N")
                continue
            break
        conn.sendall(b"R" + struct.pack("!ii", 8, 3))  # cleartext password, please
        kind = conn.recv(1)
        (length,) = struct.unpack("!i", conn.recv(4))
        if kind == b"p":
            self.passwords.append(conn.recv(length - 4).rstrip(b"\0"))
        fields = b'SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user "app"\0\0'
        conn.sendall(b"E" + struct.pack("!i", len(fields) + 4) + fields)

    def close(self):
        self.sock.close()


class BadInputTests(unittest.TestCase):
    """In this process: refused before anything runs (outside this run, whose
    database would otherwise be used), or failing on a database of its own
    on this run's server."""

    SECRET = "s3cr3t-Pa55"

    def assertOneParagraph(self, result: Result, *fragments: str) -> None:
        self.assertEqual(result.returncode, 2, result)
        lines = result.stderr.strip().splitlines()  # -v 3: progress lines, then the error
        self.assertTrue(lines[-1].startswith("error: "), result)
        self.assertEqual([line for line in lines if "error" in line.lower()], lines[-1:], result)
        self.assertNotIn("Traceback", result.output)
        self.assertNotIn(self.SECRET, result.output)
        for fragment in fragments:
            self.assertIn(fragment, result.stderr)

    def test_unreachable_server(self):
        project = fault_project(self, {"test_quick.py": QUICK})
        url = f"postgresql://app:{self.SECRET}@127.0.0.1:1/app"
        result = project.run_here(
            ["--database-url", url, "-p", "test_quick.py", "-v", "3"], outside=True
        )
        self.assertOneParagraph(
            result, "Could not connect", "127.0.0.1:1", "Check that the server is running"
        )
        self.assertNotIn("QUICK RAN", result.stdout)

    def test_wrong_password(self):
        fake = FakeAuthServer()
        self.addCleanup(fake.close)
        project = fault_project(self, {"test_quick.py": QUICK})
        url = f"postgresql://app:{self.SECRET}@127.0.0.1:{fake.port}/app"
        result = project.run_here(
            ["--database-url", url, "-p", "test_quick.py", "-v", "3"], outside=True
        )
        self.assertOneParagraph(result, "password authentication failed", "password in the URL")
        self.assertIn(self.SECRET.encode(), fake.passwords)  # it was really sent, never printed

    @unittest.skipUnless(server_available(), "needs the PostgreSQL server at " + SYSTEM_SERVER)
    def test_given_database_without_the_test_prefix(self):
        name = f"fdt_fault_{os.getpid()}"
        system_sql(f'DROP DATABASE IF EXISTS "{name}"')
        system_sql(f'CREATE DATABASE "{name}"')
        self.addCleanup(system_sql, f'DROP DATABASE IF EXISTS "{name}"')
        project = fault_project(self, {"test_quick.py": QUICK})
        url = with_password(SYSTEM_SERVER, self.SECRET) + "/" + name
        result = project.run_here(
            ["-p", "test_quick.py"], outside=True, env={"FLASK_DBTESTCASE_DATABASE_URL": url}
        )
        self.assertOneParagraph(result, "not a test database")  # refused up front, exit 2
        self.assertNotIn(self.SECRET, result.output)
        self.assertNotIn("QUICK RAN", result.stdout)
        found = system_sql("SELECT to_regclass('fault_thing')", database=name)[0][0]
        self.assertIsNone(found, "a table was created on a non-test database")

    @unittest.skipUnless(server_available(), "needs the PostgreSQL server at " + SYSTEM_SERVER)
    def test_factory_pointing_elsewhere_with_a_password(self):
        elsewhere = with_password(SYSTEM_SERVER, self.SECRET) + "/postgres"
        app = APP + textwrap.dedent(f"""
            def stubborn(config=None):
                return create_app({{"SQLALCHEMY_DATABASE_URI": {elsewhere!r}}})
        """)
        project = fault_project(
            self, {"test_quick.py": QUICK.replace("myapp:create_app", "myapp:stubborn")}, app=app
        )
        result = project.run_here(
            ["-p", "test_quick.py", "--debug-sql", "-v", "3"], own_database=True
        )
        self.assertEqual(result.returncode, 2, result)  # a set-up error
        self.assertIn("ignored the test configuration", result.stderr)
        self.assertNotIn(self.SECRET, result.output)
        self.assertFalse(system_sql("SELECT to_regclass('fault_thing')")[0][0])

    def test_malformed_fixture(self):
        project = fault_project(
            self,
            {
                "test_fix.py": """
            class WithFixture(FlaskDBTestCase):
                app_factory = "myapp:create_app"
                fixtures = ["broken.json"]
                def test_x(self):
                    print("TEST RAN")
        """
            },
        )
        with open(os.path.join(project.dir, "broken.json"), "w") as f:
            f.write('{"fault_thing": [{"name": "a"},')
        result = project.run_here(["-p", "test_fix.py"], own_database=True)
        self.assertEqual(result.returncode, 2, result)  # a set-up error
        self.assertIn("broken.json", result.stderr)
        self.assertNotIn("TEST RAN", result.stdout)
        self.assertEqual(
            result.stderr.strip().splitlines()[-1], "0 passed, 0 failed, 1 error in set-up"
        )


# ---------------------------------------------------------------------------
# Security: private socket and directories, nothing world-writable
# ---------------------------------------------------------------------------


class SecurityTests(unittest.TestCase):
    def test_private_even_with_umask_000(self):
        cache = scratch_dir("fdt-cache-")
        shutil.rmtree(cache)  # the framework makes it
        self.addCleanup(shutil.rmtree, cache, True)
        project = fault_project(
            self,
            {
                "test_sec.py": """
            import json, stat, socket
            class Looks(FlaskDBTestCase):
                app_factory = "myapp:create_app"
                def test_walk(self):
                    found = {"world_writable": [], "modes": {}}
                    host = db.engine.url.query["host"]
                    found["modes"]["sock"] = oct(stat.S_IMODE(os.stat(host).st_mode))
                    data = db.session.execute(sa.text("SHOW data_directory")).scalar()
                    found["modes"]["data"] = oct(stat.S_IMODE(os.stat(data).st_mode))
                    found["listen"] = db.session.execute(sa.text("SHOW listen_addresses")).scalar()
                    runtime = os.environ["FLASK_DBTESTCASE_RUNTIME_DIR"]
                    for top in (runtime, os.environ["FLASK_DBTESTCASE_CACHE_DIR"]):
                        for base, dirs, files in os.walk(top):
                            for name in [base] + [os.path.join(base, n) for n in dirs + files]:
                                st = os.lstat(name)
                                if stat.S_ISSOCK(st.st_mode) or stat.S_ISLNK(st.st_mode):
                                    continue
                                if st.st_mode & stat.S_IWOTH and name != runtime:
                                    found["world_writable"].append(name)
                    tcp = socket.socket()
                    try:
                        tcp.connect(("127.0.0.1", 5432)); found["tcp"] = "connected"
                    except OSError:
                        found["tcp"] = "refused"
                    finally:
                        tcp.close()
                    print("FOUND " + json.dumps(found), flush=True)
        """
            },
            cache=cache,
        )
        umask = os.umask(0)  # for the run, in this process, outside this run
        try:
            result = project.run_here(["-p", "test_sec.py"], outside=True)
        finally:
            os.umask(umask)
        self.assertEqual(result.returncode, 0, result)
        found = json.loads(line_for(result.stdout, "FOUND ")[len("FOUND ") :])
        self.assertEqual(found["world_writable"], [])
        self.assertEqual(found["modes"]["sock"], "0o700")
        self.assertIn(found["modes"]["data"], ("0o700", "0o750"))
        self.assertEqual(found["listen"], "")
        self.assertEqual(stat.S_IMODE(os.stat(cache).st_mode), 0o700)
        runtime_mode = stat.S_IMODE(os.stat(project.runtime_dir).st_mode)
        self.assertEqual(runtime_mode, 0o711 if os.geteuid() == 0 else 0o700)


# ---------------------------------------------------------------------------
# Load: no growth per test in memory or connections
# ---------------------------------------------------------------------------

LOAD_CLASSES = int(os.environ.get("FAULTS_LOAD_CLASSES", "100"))
LOAD_TESTS = int(os.environ.get("FAULTS_LOAD_TESTS_PER_CLASS", "4"))

LOAD = """
import resource
def probe(tag):
    with open("/proc/self/statm") as f:
        rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    backends = db.session.execute(sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")).scalar()
    print("PROBE %s %d %d %d" % (tag, rss, backends, len(os.listdir("/proc/self/fd"))), flush=True)

class Base(FlaskDBTestCase):
    app_factory = "myapp:create_app"
    @classmethod
    def setUpTestData(cls):
        db.session.add(Thing(name="class"))
        db.session.commit()

def make(n):
    def test(self):
        db.session.add(Thing(name="t%d" % n))
        db.session.commit()
        self.assertEqual(Thing.query.count(), 2)
        with self.app.test_request_context():
            db.session.execute(sa.text("SELECT 1"))
    return test

for c in range(CLASSES):
    attrs = {"test_%03d" % n: make(n) for n in range(TESTS)}
    attrs["test_zz_probe"] = lambda self, c=c: probe(c)
    globals()["Load%03d" % c] = type("Load%03d" % c, (Base,), attrs)
"""


CRASHING_WORKER = """
class Dies(FlaskDBTestCase):
    app_factory = "myapp:create_app"
    def test_dies(self):
        os._exit(3)  # the worker process vanishes mid-test

class Survives(FlaskDBTestCase):
    app_factory = "myapp:create_app"
    def test_survives(self):
        self.assertEqual(Thing.query.count(), 0)
"""


@tag("slow")
class WorkerDeathTests(unittest.TestCase):
    def test_parallel_worker_dying_is_reported_not_hung(self):
        project = fault_project(self, {"test_crash.py": CRASHING_WORKER})
        result = project.run(["-p", "test_crash.py", "--parallel", "2"])
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("A worker process died", result.stderr)
        self.assertIn("test_crash.Dies", result.stderr)
        self.assertLess(result.elapsed, TIMEOUT / 2)


@tag("slow")
class LoadTests(unittest.TestCase):
    def test_constant_memory_and_connections(self):
        project = fault_project(
            self,
            {
                "test_load.py": LOAD.replace("CLASSES", str(LOAD_CLASSES)).replace(
                    "TESTS", str(LOAD_TESTS)
                )
            },
        )
        result = project.run(
            ["-p", "test_load.py"], timeout=max(TIMEOUT, LOAD_CLASSES * LOAD_TESTS / 20)
        )
        self.assertEqual(result.returncode, 0, result)
        probes = [
            tuple(map(int, m))
            for m in re.findall(r"^PROBE (\d+) (\d+) (\d+) (\d+)$", result.stdout, re.M)
        ]
        self.assertEqual(len(probes), LOAD_CLASSES)
        warm = probes[len(probes) // 10]
        last = probes[-1]
        backends = {p[2] for p in probes}
        fds = {p[3] for p in probes[len(probes) // 10 :]}
        summary = (
            f"{LOAD_CLASSES * (LOAD_TESTS + 1)} tests in {result.elapsed:.1f}s; "
            f"RSS {probes[0][1]} kB "
            f"first class, {warm[1]} kB at 10%, {last[1]} kB last; backends {sorted(backends)}; "
            f"open fds {sorted(fds)}"
        )
        if os.environ.get("FAULTS_LOAD_REPORT"):
            print("\nLOAD:", summary, file=sys.stderr)
        self.assertEqual(len(backends), 1, summary)  # no connection growth
        self.assertLessEqual(max(fds) - min(fds), 2, summary)
        # Memory per test is constant, and finished classes release their app
        # and engines (they kept ~90 kB each before): measured ~10-25 kB per
        # class of allocator and unittest bookkeeping, so 60 kB is the bound.
        classes_after_warmup = LOAD_CLASSES - len(probes) // 10
        allowance = classes_after_warmup * (60 + 2 * LOAD_TESTS)  # kB
        self.assertLess(last[1] - warm[1], allowance, summary)


if __name__ == "__main__":
    unittest.main()
