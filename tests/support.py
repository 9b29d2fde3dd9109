"""Support code shared by the test modules (not a test module: nothing here is collected).

One copy of each thing several modules need:

- databases: :func:`dsn`, :func:`run_sql`, the system server
  (:data:`SYSTEM_SERVER`, :func:`server_available`, :func:`system_sql`) and
  this run's own test database (:func:`run_database_url`);
- processes: :func:`pid_running`, :func:`wait_until`, the one ``/proc``
  scanner (:func:`processes_mentioning`) and what a run left behind
  (:func:`leftovers`, :func:`assert_nothing_left`);
- the environment: the one cleaner (:func:`clean_env`) and :func:`set_env`;
- runs of a small project as a user would start them: :class:`Project`, the
  one subprocess harness, whose :meth:`Project.run_here` makes the same run
  inside this process when the behaviour under test needs no process of its
  own (as Django's tests run ``DiscoverRunner`` in-process).
"""

from __future__ import annotations

import contextlib
import functools
import glob
import io
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from unittest import mock

import psycopg2
import sqlalchemy as sa

from flask_dbtestcase import settings
from flask_dbtestcase.postgres.directories import runtime_paths, shm_usable
from flask_dbtestcase.postgres.serverconfig import ServerConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The small suites the runner tests run (see runner_suites/README.md).
SUITES = os.path.join(ROOT, "tests", "runner_suites")

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


@functools.cache
def server_available(url: str = SYSTEM_SERVER) -> bool:
    """Whether the server at ``url`` (no database name) accepts a connection
    to its ``postgres`` database; asked once per process (for skip decorators)."""
    try:
        psycopg2.connect(**dsn(url.rstrip("/") + "/postgres"), connect_timeout=3).close()
    except psycopg2.Error:
        return False
    return True


def system_sql(statement: str, database: str = "postgres"):
    """``run_sql`` on the system server."""
    return run_sql(f"{SYSTEM_SERVER}/{database}", statement)


class ForeignServer:
    """A second PostgreSQL server on this machine that is not the run's, for the
    tests that try to send a run to it: TCP on 127.0.0.1 (a port of its own)
    and a socket directory, started from the initdb cache as the server user.
    Use it as a context manager; it is stopped and removed on exit."""

    def __init__(self):
        from flask_dbtestcase.postgres.binaries import find_postgres_bin
        from flask_dbtestcase.postgres.initdb_cache import copy_tree, initdb_cached
        from flask_dbtestcase.postgres.processes import chown, server_user, spawn

        bin_dir = find_postgres_bin(server_config())
        user = server_user()
        cached = initdb_cached(server_config(), bin_dir, user)
        self.base = scratch_dir("foreign-", mode=0o755)
        self.data_dir = os.path.join(self.base, "data")
        self.socket_dir = os.path.join(self.base, "sock")
        copy_tree(cached, self.data_dir)
        os.mkdir(self.socket_dir, 0o755)
        for path in (self.base, self.socket_dir):
            chown(path, user)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.log = open(os.path.join(self.base, "log"), "wb")  # noqa: SIM115
        self.process = spawn(
            [os.path.join(bin_dir, "postgres"), "-D", self.data_dir, "-k", self.socket_dir,
             "-p", str(self.port), "-c", "listen_addresses=127.0.0.1", "-F"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}"
        if not wait_until(self._accepts, timeout=30):
            self.stop()
            raise AssertionError(f"the second server did not start (log in {self.base})")

    def _accepts(self) -> bool:
        try:
            psycopg2.connect(**dsn(f"{self.url}/postgres"), connect_timeout=2).close()
        except psycopg2.Error:
            return False
        return True

    def sql(self, statement: str, database: str = "postgres"):
        """``run_sql`` on this server."""
        return run_sql(f"{self.url}/{database}", statement)

    def stop(self) -> None:
        """Stop the server and remove its files."""
        from flask_dbtestcase.postgres.processes import kill_and_wait

        kill_and_wait(self.process.pid)
        self.process.poll()
        self.log.close()
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> ForeignServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def run_database_url() -> str:
    """This run's test database, with its password: the runner's, else this
    process's own. A child process given it (``FLASK_DBTESTCASE_DATABASE_URL``)
    uses it as it is, instead of starting a server of its own."""
    from flask_dbtestcase.cases.testdb import current_database_url

    return current_database_url().render_as_string(hide_password=False)


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


def process_status(pid: int, field: str) -> list[str] | None:
    """The values of one field of ``/proc/<pid>/status`` (``"Uid"``,
    ``"PPid"``...), None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                name, _, values = line.partition(":")
                if name == field:
                    return values.split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    raise AssertionError(f"no {field} line in /proc/{pid}/status")


def parent_pid(pid: int) -> int | None:
    """The parent of process ``pid`` (None once it is gone)."""
    values = process_status(pid, "PPid")
    return int(values[0]) if values else None


def wait_until(predicate, timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


def removed(path: str, timeout: float = 5.0) -> bool:
    """Wait for ``path`` to be gone: a stopped server's directory goes in an
    ``rm -rf`` left running in the background."""
    return wait_until(lambda: not os.path.exists(path), timeout)


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


def runtime_dirs() -> set[str]:
    """Every directory a throwaway server's directory may be in: this
    process's (its settings) and the defaults a child process falls back to."""
    found = set(runtime_paths(server_config()))
    name = f"flask-dbtestcase-{os.geteuid()}"
    for base in ("/dev/shm", tempfile.gettempdir(), "/tmp"):
        found.add(os.path.join(base, name))
    return found


def server_dirs(pid: int) -> set[str]:
    """The server directories (``srv-<pid>-*``) of the run with this pid."""
    found = set()
    for parent in runtime_dirs():
        found.update(glob.glob(os.path.join(parent, f"srv-{pid}-*")))
    return found


def leftovers(pid: int) -> list[str]:
    """What the finished run with this pid left: server directories, and
    processes whose command line mentions one (its postgres)."""
    found = sorted(server_dirs(pid))
    found += [f"process {p}: {cmd}" for p, cmd in processes_mentioning(f"srv-{pid}-")]
    return found


def assert_nothing_left(case: unittest.TestCase, pid: int, timeout: float = 5.0) -> None:
    """The finished run with this pid left no throwaway server behind (a
    postmaster that got its death signal may take a moment to go)."""
    wait_until(lambda: not leftovers(pid), timeout)
    case.assertEqual(leftovers(pid), [], f"process {pid} left a server behind")


# ---------------------------------------------------------------------------
# The environment
# ---------------------------------------------------------------------------

#: What steers a run rather than describes the machine: a project's run must
#: not inherit these from this one (the machine's PG_BIN, POSTGRES, CACHE_DIR
#: and RUNTIME_DIR are kept: they say where PostgreSQL and its files are).
RUN_VARIABLES = (
    settings.DATABASE_URL_ENV,
    settings.TEST_DATABASE_URL_ENV,
    settings.FLASK_APP_ENV,
    settings.RUNNER_ENV,
    settings.WORKER_ID_ENV,
    settings.LOCK_TIMEOUT_ENV,
    settings.STATEMENT_TIMEOUT_ENV,
    settings.NO_COLOR_ENV,
    settings.FORCE_COLOR_ENV,
)


def clean_env(env: dict[str, str | None] | None = None) -> dict[str, str]:
    """This process's environment for a project's run: without what would
    steer it (:data:`RUN_VARIABLES`, ``PYTEST_*``), with this checkout
    importable and unbuffered output, then ``env`` on top (None removes)."""
    cleaned = {
        k: v
        for k, v in os.environ.items()
        if k not in RUN_VARIABLES and not k.startswith("PYTEST_")
    }
    cleaned.update(PYTHONPATH=ROOT, PYTHONUNBUFFERED="1")
    for name, value in (env or {}).items():
        if value is None:
            cleaned.pop(name, None)
        else:
            cleaned[name] = value
    return cleaned


def server_config() -> ServerConfig:
    """The throwaway server's configuration, as this process's settings give it now
    (read afresh, so a variable a test set counts)."""
    from flask_dbtestcase.settings import Settings

    return Settings.load().server_config()


def scratch_dir(prefix: str, mode: int | None = None) -> str:
    """A new directory for servers' and caches' files, removed by the caller:
    in RAM (/dev/shm) when the package would put its servers there too,
    else in /tmp; short either way (socket paths must fit in ~100 bytes).
    ``mode``: e.g. 0o755, for the server user to get through when root."""
    path = tempfile.mkdtemp(prefix=prefix, dir="/dev/shm" if shm_usable() else "/tmp")
    if mode is not None:
        os.chmod(path, mode)
    return path


def set_env(case: unittest.TestCase, **values: str | None) -> None:
    """Set environment variables in this process until ``case`` ends (None removes one)."""
    patcher = mock.patch.dict(os.environ)
    patcher.start()
    case.addCleanup(patcher.stop)
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


# ---------------------------------------------------------------------------
# Runs of a project, in a process of their own or in this one
# ---------------------------------------------------------------------------


def app_source(table: str, extra: str = "") -> str:
    """The ``myapp.py`` of a throwaway project: Flask-SQLAlchemy ``db``, a
    ``Thing`` model on ``table`` and ``create_app(config)``, then ``extra`` code."""
    return (
        f'''
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
'''
        + extra
    )


class Result:
    """One finished run: its pid, exit code, output and how long it took."""

    def __init__(self, pid: int, returncode: int, stdout: str, stderr: str, elapsed: float):
        self.pid = pid
        self.returncode = returncode
        self.stdout, self.stderr = stdout, stderr
        self.output = stdout + stderr
        self.elapsed = elapsed

    @property
    def last_line(self) -> str:
        """The last line of stderr (the runner's summary line)."""
        lines = self.stderr.rstrip("\n").splitlines()
        return lines[-1] if lines else ""

    def __str__(self) -> str:
        return (
            f"exit {self.returncode} after {self.elapsed:.1f}s\n--- stdout\n{self.stdout[-2000:]}"
            f"\n--- stderr\n{self.stderr[-4000:]}"
        )


def _unittest_main(argv: list[str]) -> int:
    """``python -m unittest argv``, in this process: its exit code."""
    program = unittest.main(module=None, argv=["python -m unittest", *argv], exit=False)
    return 0 if program.result.wasSuccessful() else 1


def _runner_main(argv: list[str]) -> int:
    """``python -m flask_dbtestcase argv``, in this process: its exit code."""
    from flask_dbtestcase.runner import main

    return main(argv)


#: What ``run_here`` runs for each module ``python -m`` would run.
IN_PROCESS = {"flask_dbtestcase": _runner_main, "unittest": _unittest_main}


@contextlib.contextmanager
def nested_state(outside: bool = False, database: str | None = None):
    """A run made inside this one, with a run of its own, given back afterwards.

    The nested run uses this run's test database (a runner nested in a runner
    uses it as it is), or ``database`` instead, but has its own apps and
    shared connections, so its clean-up closes only what it made. ``outside``:
    no run at all, as in a process with no runner (it starts a throwaway
    server of its own if it needs one). Whatever runs the nested run opened
    are closed at the end, and this run is current again.
    """
    from flask_dbtestcase.databases.lifecycle import open_test_databases
    from flask_dbtestcase.settings import Settings
    from flask_dbtestcase.state import Run, current_run, enter_run, leave_run

    outer = []
    while (run := current_run()) is not None:
        leave_run(run)
        outer.insert(0, run)
    try:
        if not outside and (database or outer):
            given = sa.make_url(database) if database else outer[-1].databases.url
            nested_settings = Settings.load()  # the nested run's environment
            databases = open_test_databases(
                nested_settings.databases_config(), given=given, hand_over=False
            )
            enter_run(Run(nested_settings, databases))
        yield
    finally:
        try:
            while (run := current_run()) is not None:
                leave_run(run)
                run.databases.close(quiet=True)
        finally:
            for run in outer:
                enter_run(run)


@contextlib.contextmanager
def fresh_database():
    """A new, empty test database on this run's server, dropped afterwards:
    its URL (for a nested run whose tables must not meet this run's)."""
    from flask_dbtestcase.databases import creation

    base = sa.make_url(run_database_url())
    url = base.set(database=f"{base.database}_own{next(_fresh_databases)}_{os.getpid()}")
    creation.create_test_database(url, creation.Timeouts(), interactive=False, autoclobber=True)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        creation.destroy_test_database(url)


_fresh_databases = itertools.count(1)


@contextlib.contextmanager
def as_a_process(
    directory: str,
    env: dict[str, str | None] | None = None,
    outside: bool = False,
    database: str | None = None,
):
    """This process, made to look like a fresh one started in ``directory``
    with ``clean_env(env)`` and no terminal on stdin; everything is given
    back afterwards: the environment, the working directory, ``sys.path``,
    the process state (see :func:`nested_state`), and the modules imported
    from ``directory`` are forgotten (the next run imports its own)."""
    cwd = os.getcwd()
    path = list(sys.path)
    directory = os.path.realpath(directory)
    with (
        mock.patch.dict(os.environ, clean_env(env), clear=True),
        mock.patch.object(sys, "stdin", io.StringIO()),
    ):
        os.chdir(directory)  # before the nested run reads its settings (pyproject.toml)
        try:
            with nested_state(outside, database):
                yield
        finally:
            os.chdir(cwd)
            sys.path[:] = path
            for name, module in list(sys.modules.items()):
                file = getattr(module, "__file__", None) or ""
                if file and os.path.realpath(file).startswith(directory + os.sep):
                    del sys.modules[name]


class Project:
    """A small project, and runs of it as a user would start them.

    The project is ``files`` (names to text) written to a temporary
    directory, or an existing ``directory`` used as it is. A run is
    ``python -m <module> args`` (``command`` replaces ``python -m <module>``,
    e.g. ``flask test``) with ``clean_env(env)``, no stdin, and ``timeout``
    seconds: a run that hangs is killed and fails the test. With
    ``private_runtime`` its throwaway servers go to a runtime directory of
    its own, so "nothing left behind" is exact (that directory must be
    empty, no process may run from it); otherwise it is checked by the
    run's pid. ``cache`` is a private initdb cache. The directory and any
    process still running are removed by ``case``'s clean-ups.

    :meth:`run_here` makes the same run in this process (see :func:`as_a_process`).
    """

    def __init__(
        self,
        case: unittest.TestCase,
        files: dict[str, str] | None = None,
        *,
        directory: str | None = None,
        module: str = "flask_dbtestcase",
        env: dict[str, str | None] | None = None,
        timeout: float = 60,
        private_runtime: bool = False,
        cache: str | None = None,
    ):
        self.case = case
        self.module = module
        self.timeout = timeout
        if directory is None:
            self.dir = tempfile.mkdtemp(prefix="fdt-project-")
            case.addCleanup(shutil.rmtree, self.dir, True)
            for name, text in (files or {}).items():
                with open(os.path.join(self.dir, name), "w") as f:
                    f.write(text)
        else:
            assert not files, "files for an existing directory"
            self.dir = directory
        env = dict(env or {})
        self.runtime_parent = None
        if private_runtime:
            self.runtime_parent = scratch_dir("fdtrt-", 0o755)  # the server user gets through
            case.addCleanup(shutil.rmtree, self.runtime_parent, True)
            case.addCleanup(self.kill_servers)
            env.setdefault(settings.RUNTIME_DIR_ENV, self.runtime_parent)
        if cache:
            env[settings.CACHE_DIR_ENV] = cache
        self.env = env

    # -- in a process of its own ----------------------------------------------
    def command(
        self, args: list[str], module: str | None = None, command: list[str] | None = None
    ) -> list[str]:
        return [*(command or [sys.executable, "-m", module or self.module]), *args]

    def popen(
        self,
        args: list[str],
        module: str | None = None,
        env: dict | None = None,
        preexec_fn=None,
        command: list[str] | None = None,
    ) -> subprocess.Popen:
        """Start the run; ``case`` kills it at the end if it still runs."""
        proc = subprocess.Popen(
            self.command(args, module, command),
            cwd=self.dir,
            env=clean_env({**self.env, **(env or {})}),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=preexec_fn,
        )
        self.case.addCleanup(self.reap, proc)
        return proc

    def finish(
        self, proc: subprocess.Popen, started: float, timeout: float | None = None
    ) -> Result:
        """Wait for ``proc`` until ``timeout`` s after ``started``; fail the test if it hangs."""
        timeout = self.timeout if timeout is None else timeout
        try:
            stdout, stderr = proc.communicate(
                timeout=max(1.0, started + timeout - time.monotonic())
            )
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
            self.case.fail(f"the run hung (killed after {timeout}s)\n{stdout}\n{stderr}")
        return Result(proc.pid, proc.returncode, stdout, stderr, time.monotonic() - started)

    def run(
        self,
        args: list[str],
        module: str | None = None,
        timeout: float | None = None,
        env: dict | None = None,
        preexec_fn=None,
        command: list[str] | None = None,
        clean: bool = True,
    ) -> Result:
        """The run, to its end; then (unless ``clean`` is false) nothing may be left behind."""
        started = time.monotonic()
        proc = self.popen(args, module, env=env, preexec_fn=preexec_fn, command=command)
        result = self.finish(proc, started, timeout)
        if clean:
            self.assertNothingLeft(result)
        return result

    # -- in this process -------------------------------------------------------
    def run_here(
        self,
        args: list[str],
        module: str | None = None,
        env: dict | None = None,
        outside: bool = False,
        own_database: bool = False,
        clean: bool = True,
    ) -> Result:
        """The same run, in this process: stdout and stderr captured, the exit
        code the entry point returns. It uses this run's test database, or
        with ``own_database`` a new one on this run's server, or ``outside``
        this run none of this run's (see :func:`nested_state`); with
        ``clean``, any server it started must be gone at its end. A run in
        this process cannot be killed: make no run here that could hang."""
        entry = IN_PROCESS[module or self.module]
        out, err = io.StringIO(), io.StringIO()
        if not outside:
            run_database_url()  # this run's server exists before, whatever ran first
        before = server_dirs(os.getpid())
        started = time.monotonic()
        database = fresh_database if own_database else contextlib.nullcontext
        with (
            database() as url,
            as_a_process(self.dir, {**self.env, **(env or {})}, outside, url),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            if entry is _unittest_main:
                sys.path.insert(0, self.dir)  # as python -m puts the working directory first
            code = entry(list(args))
        elapsed = time.monotonic() - started
        result = Result(os.getpid(), code, out.getvalue(), err.getvalue(), elapsed)
        if clean:
            new = server_dirs(os.getpid()) - before
            self.case.assertEqual(sorted(new), [], f"the run left a server directory\n{result}")
            if self.runtime_parent:
                self.assertNothingLeft(result)
        return result

    # -- leftovers -------------------------------------------------------------
    @property
    def runtime_dir(self) -> str:
        """The private runtime directory (``private_runtime``)."""
        assert self.runtime_parent, "no private runtime directory"
        return os.path.join(self.runtime_parent, f"flask-dbtestcase-{os.geteuid()}")

    def postgres_processes(self) -> list[tuple[int, str]]:
        """The processes running from the private runtime directory."""
        return processes_mentioning(self.runtime_parent) if self.runtime_parent else []

    def leftovers(self) -> list[str]:
        """What is in the private runtime directory, and running from it."""
        found = []
        if os.path.isdir(self.runtime_dir):
            found += [os.path.join(self.runtime_dir, n) for n in os.listdir(self.runtime_dir)]
        found += [f"process {pid}: {cmd}" for pid, cmd in self.postgres_processes()]
        return found

    def assertNothingLeft(self, result: Result | None = None) -> None:
        """Nothing left behind: in the private runtime directory, or by the run's pid."""
        if self.runtime_parent is None:
            assert result is not None
            if result.pid != os.getpid():
                assert_nothing_left(self.case, result.pid)
            return
        # PDEATHSIG'd postmasters take a moment to go.
        wait_until(lambda: not self.leftovers(), 5)
        self.case.assertEqual(self.leftovers(), [], f"left behind\n{result or ''}")

    def kill_servers(self) -> None:
        for pid, _ in self.postgres_processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    @staticmethod
    def reap(proc: subprocess.Popen) -> None:
        """Kill ``proc`` if it still runs, and collect it."""
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


class RunnerOrders:
    """Mixin for a TestCase: the suite module ``label`` passes in every order the runner has.

    Each run is a process of its own, started from the repository: shuffled,
    reversed and split over ``--parallel 2`` workers. The pairs in such a
    suite catch a leak whichever of them runs second. ``check_run`` may ask
    more of each run.
    """

    label: str

    def run_suite(self, *args: str, module: str = "flask_dbtestcase") -> Result:
        """Run the suite with ``args``; it must pass."""
        result = Project(self, directory=ROOT, timeout=120).run(list(args), module=module)
        self.assertEqual(result.returncode, 0, result)
        return result

    def check_run(self, result: Result) -> None:
        """Ask more of a run of the runner (nothing by default)."""

    def test_shuffled(self):
        self.check_run(self.run_suite(self.label, "--noinput", "--shuffle"))

    def test_reversed(self):
        self.check_run(self.run_suite(self.label, "--noinput", "--reverse"))

    def test_parallel(self):
        self.check_run(self.run_suite(self.label, "--noinput", "--parallel", "2"))
