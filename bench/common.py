"""Shared helpers: CPU pinning, the bench server's processes, statistics, bytecode."""

from __future__ import annotations

import compileall
import contextlib
import importlib.util
import os
import statistics
import subprocess
import sys
import time
import typing as t
import unittest

CLIENT_CPU = 0
#: placement name -> (client CPUs, server CPUs)
PLACEMENTS = {
    "split": ({0}, {1}),  # client on CPU 0, server on CPU 1
    "shared": ({0}, {0}),  # both on CPU 0
}


def ncpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def server_pids(data_dir: str) -> list[int]:
    """The postmaster (first line of postmaster.pid) and all its children."""
    with open(os.path.join(data_dir, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    pids = [postmaster]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            pids.append(int(entry))
    return pids


def pin(pid: int, cpus: t.Iterable[int]) -> None:
    try:
        os.sched_setaffinity(pid, set(cpus))
    except (ProcessLookupError, PermissionError):
        pass


def pin_server(data_dir: str, cpus: t.Iterable[int]) -> None:
    """Pin the postmaster (new backends inherit it) and every running child."""
    for pid in server_pids(data_dir):
        pin(pid, cpus)


def summarize(samples: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "n": len(samples),
    }


#: The bench's own apps and scripts, compiled by :func:`compile_bytecode`.
_BENCH_SOURCES = ("flaskbench", "djbench")


def compile_bytecode(*package_dirs: str) -> None:
    """Write the bytecode of the framework, the bench apps and ``package_dirs``.

    An installed package has its bytecode: pip compiles it when it installs a
    wheel. An editable checkout run with ``PYTHONDONTWRITEBYTECODE=1`` (set
    on the machines this bench ran on, and by the bench for its commands)
    has none, so every timed command would compile the framework's ~12,000
    lines again (~55 ms a run here), and the bench apps too, while Flask,
    SQLAlchemy and Django load theirs. Compiling once up front times every
    contender as installed. Files already compiled are skipped.

    :param package_dirs: more package directories to compile (``--vs-path``).
    """
    spec = importlib.util.find_spec("flask_dbtestcase")
    assert spec is not None and spec.submodule_search_locations is not None
    here = os.path.dirname(os.path.abspath(__file__))
    dirs = [*spec.submodule_search_locations, *package_dirs]
    dirs += [os.path.join(here, name) for name in _BENCH_SOURCES]
    for directory in dirs:
        compileall.compile_dir(directory, quiet=1)
    compileall.compile_dir(here, maxlevels=0, quiet=1)  # manage.py, worker.py


def median_range(xs: list[float], scale: float, spec: str) -> str:
    """Format samples as ``median (min–max)``, each times ``scale``, with ``spec``."""
    low, mid, high = (v * scale for v in (min(xs), statistics.median(xs), max(xs)))
    return f"{mid:{spec}} ({low:{spec}}–{high:{spec}})"


def driver_name() -> str:
    """The driver of the run: the driver setting, else the framework's default choice."""
    from flask_dbtestcase.databases.drivers import choose_driver
    from flask_dbtestcase.settings import Settings

    return choose_driver(Settings.load().driver).name


def database_url(text: str):
    """A URL as a run's edge parses it: naming the run's driver."""
    from flask_dbtestcase.databases.urls import parse_test_url

    return parse_test_url(text, driver_name())


def create_database(text: str):
    """Create (or replace) the test database at ``text``; return its URL."""
    from flask_dbtestcase.databases.creation import Timeouts, create_test_database

    url = database_url(text)
    create_test_database(url, Timeouts(), interactive=False, autoclobber=True)
    return url


@contextlib.contextmanager
def bench_database(name: str) -> t.Iterator[tuple[t.Any, str]]:
    """Pin this process to CPU 0, start a throwaway server with the database ``name``.

    The bench's Flask apps and FlaskDBTestCase find it in the environment.
    Yields the server and the database URL; the server is stopped afterwards.
    """
    from flask_dbtestcase.postgres.server import ThrowawayServer
    from flask_dbtestcase.settings import Settings

    pin(0, {0})
    server = ThrowawayServer.start(Settings.load().server_config())
    try:
        url = server.url(name, driver_name())
        create_database(url)
        os.environ["BENCH_FLASK_DATABASE_URL"] = url
        os.environ["FLASK_DBTESTCASE_DATABASE_URL"] = url
        yield server, url
    finally:
        try:
            close_own_run()
        finally:
            server.stop()


def close_own_run() -> None:
    """Close the run the test classes opened in this process, while its server still runs.

    Run without the runner, the first FlaskDBTestCase class opens the process's
    run (on ``FLASK_DBTESTCASE_DATABASE_URL``) and flask-dbtestcase closes it
    at exit; by then :func:`bench_database` has stopped the server, and that
    close fails ("connection to server on socket ... failed"), printed as an
    ignored exception of an atexit callback. Closing it here first leaves the
    exit's close nothing to do (``TestDatabases.close`` is safe to call twice).
    """
    from flask_dbtestcase.state import current_run, leave_run

    run = current_run()
    if run is not None:
        leave_run(run)
        run.databases.close()


def check_result(result: unittest.TestResult, what: str) -> None:
    """Stop the bench if its own tests failed, showing the first three failures.

    :param result: what the bench's tests gave.
    :param what: the bench, or its part, for the messages.
    """
    if not result.wasSuccessful():
        for test, text in (result.errors + result.failures)[:3]:
            sys.stderr.write(f"{what}: {test}\n{text}\n")
        raise SystemExit(f"{what}: the benchmark's own tests failed")


def run_python(args: list[str], cwd: str, env: dict[str, str]) -> tuple[float, float]:
    """Run ``python ARGS`` in ``cwd``; return its wall and CPU time (s); stop the bench if it fails.

    The CPU time is the process's and its waited-for children's (``os.wait4``):
    the throwaway server is a child of the test process, so its CPU is in it.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(args)} in {cwd} failed ({code}):\n{output[-4000:]}")
    return wall, usage.ru_utime + usage.ru_stime
