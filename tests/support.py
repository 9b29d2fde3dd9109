"""Support code shared by the test modules (not a test module: nothing here is collected).

Several modules run a tiny throwaway project the way a user would, in a
subprocess, and then check that nothing was left behind; several talk to
the system PostgreSQL server or open a connection of their own from a
SQLAlchemy URL. One copy of each lives here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import psycopg2
import sqlalchemy as sa

from flask_dbtestcase.postgres.processes import runtime_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The system PostgreSQL used by the tests about an existing server
# (RUNNER_TEST_SERVER_URL points them elsewhere). No database name: add one.
SYSTEM_SERVER = os.environ.get("RUNNER_TEST_SERVER_URL", "postgresql://postgres@127.0.0.1:5432")


# ---------------------------------------------------------------------------
# Databases
# ---------------------------------------------------------------------------

def dsn(url: str | sa.URL) -> dict:
    """psycopg2.connect() arguments for a SQLAlchemy URL (host, port, user,
    password, dbname, and query options such as a socket directory)."""
    url = sa.make_url(url)
    args = url.translate_connect_args(username="user", database="dbname")
    args.update(url.query)
    return args


def run_sql(url: str | sa.URL, statement: str):
    """Run one statement on a separate autocommit connection to ``url``:
    its rows, or None for a statement that returns none."""
    conn = psycopg2.connect(**dsn(url), connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def system_server_available() -> bool:
    """Whether the system server accepts a connection (for skip decorators)."""
    try:
        psycopg2.connect(**dsn(SYSTEM_SERVER + "/postgres"), connect_timeout=3).close()
    except psycopg2.Error:
        return False
    return True


def system_sql(statement: str, database: str = "postgres"):
    """``run_sql`` on the system server."""
    return run_sql(f"{SYSTEM_SERVER}/{database}", statement)


# ---------------------------------------------------------------------------
# Processes and leftovers
# ---------------------------------------------------------------------------

def pid_running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_until(predicate, timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


def processes_mentioning(text: str) -> list[tuple[int, str]]:
    """Running processes whose command line contains ``text``, as (pid, command line)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd and pid_running(int(entry)):
            found.append((int(entry), cmd))
    return found


def assert_nothing_left(case: unittest.TestCase, pid: int) -> None:
    """Process ``pid`` (a finished run) left no throwaway server behind: no
    ``srv-<pid>-*`` directory in the runtime directory, and no process whose
    command line mentions one (its postgres)."""
    prefix = f"srv-{pid}-"
    left = [name for name in os.listdir(runtime_dir()) if name.startswith(prefix)]
    case.assertEqual(left, [], f"process {pid} left a server directory behind")
    case.assertEqual(processes_mentioning(prefix), [], "a postgres process was left running")


# ---------------------------------------------------------------------------
# Throwaway projects
# ---------------------------------------------------------------------------

def app_source(table: str, extra: str = "") -> str:
    """The ``myapp.py`` of a throwaway project: Flask-SQLAlchemy ``db``, a
    ``Thing`` model on ``table`` and ``create_app(config)``, then ``extra`` code."""
    return f'''
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

class Base(DeclarativeBase):
    pass

db = SQLAlchemy(model_class=Base)

class Thing(db.Model):
    __tablename__ = "{table}"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)

def create_app(config=None):
    app = Flask(__name__)
    app.config.update(config or {{}})
    db.init_app(app)
    return app
''' + extra


def clean_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the settings that would steer a
    project's run (FLASK_DBTESTCASE_*, FLASK_APP, TEST_DATABASE_URL, PYTEST_*),
    with this checkout importable, and with ``env`` on top."""
    cleaned = {k: v for k, v in os.environ.items()
               if not k.startswith(("FLASK_DBTESTCASE", "FLASK_APP", "TEST_DATABASE", "PYTEST_"))}
    cleaned.update(PYTHONPATH=ROOT, PYTHONUNBUFFERED="1")
    cleaned.update(env or {})
    return cleaned


class Result:
    """One finished run: its pid, exit code, output and how long it took."""

    def __init__(self, proc: subprocess.Popen, stdout: str, stderr: str, elapsed: float):
        self.pid = proc.pid
        self.returncode = proc.returncode
        self.stdout, self.stderr = stdout, stderr
        self.output = stdout + stderr
        self.elapsed = elapsed

    def __str__(self) -> str:
        return (f"exit {self.returncode} after {self.elapsed:.1f}s\n--- stdout\n{self.stdout[-2000:]}"
                f"\n--- stderr\n{self.stderr[-4000:]}")


class Project:
    """A tiny project in a temporary directory, and ``python -m <module> ...``
    runs of it, as a user would start them.

    ``files`` maps file names to their text. Runs get ``clean_env(env)``, no
    stdin, and ``timeout`` seconds: a run that hangs is killed and fails the
    test instead of stalling the suite. The directory and any process still
    running are removed by ``case``'s clean-ups.
    """

    def __init__(self, case: unittest.TestCase, files: dict[str, str], module: str,
                 env: dict[str, str] | None = None, timeout: float = 60):
        self.case = case
        self.module = module
        self.timeout = timeout
        self.dir = tempfile.mkdtemp(prefix="fdt-project-")
        case.addCleanup(shutil.rmtree, self.dir, True)
        for name, text in files.items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        self.env = clean_env(env)

    def popen(self, args: list[str], module: str | None = None, env: dict | None = None,
              preexec_fn=None) -> subprocess.Popen:
        """Start ``python -m <module> args`` (the project's module unless given)."""
        proc = subprocess.Popen(
            [sys.executable, "-m", module or self.module, *args], cwd=self.dir,
            env={**self.env, **(env or {})}, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec_fn)
        self.case.addCleanup(self.reap, proc)
        return proc

    def finish(self, proc: subprocess.Popen, started: float, timeout: float | None = None) -> Result:
        """Wait for ``proc`` until ``timeout`` seconds after ``started``; fail the test if it hangs."""
        timeout = self.timeout if timeout is None else timeout
        try:
            stdout, stderr = proc.communicate(timeout=max(1.0, started + timeout - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
            self.case.fail(f"the run hung (killed after {timeout}s)\n{stdout}\n{stderr}")
        return Result(proc, stdout, stderr, time.monotonic() - started)

    def run(self, args: list[str], module: str | None = None, timeout: float | None = None,
            env: dict | None = None, preexec_fn=None) -> Result:
        """Run ``python -m <module> args`` to the end."""
        started = time.monotonic()
        proc = self.popen(args, module, env=env, preexec_fn=preexec_fn)
        return self.finish(proc, started, timeout)

    @staticmethod
    def reap(proc: subprocess.Popen) -> None:
        """Kill ``proc`` if it still runs, and collect it."""
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
