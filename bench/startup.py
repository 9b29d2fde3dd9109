"""Start-up: the framework's own share of a one-test run.

    python bench/startup.py [--repeats 9] [--driver psycopg|psycopg2] [--profile]

Whole-process wall and CPU times (the process and its children, the server among
them), interleaved round by round after one warm-up
round (the throwaway server's initdb cache is warm). ``DRIVER`` is the
PostgreSQL driver of the run: ``--driver`` (handed to the run as
``FLASK_DBTESTCASE_DRIVER``), else the one the run picks by default
(psycopg 3 under SQLAlchemy 2.1). The stack imports it, because the user's
app loads it to connect, with or without the framework:

- ``stack``: ``python -c "import flask, flask_sqlalchemy, sqlalchemy, DRIVER"``
  (the issue's definition names psycopg2, then the default);
- ``app``: ``python -c "import DRIVER, flaskbench"``: the stack plus the
  user's app (its models, its factory's module);
- ``ours``: the app, then the framework modules a run imports;
- ``run``: ``python -m flask_dbtestcase flaskbench.e2e_tests`` with one test,
  on its own throwaway server;
- ``pytest``: the same test as a pytest function on the plugin's fixtures;
- ``bare``: the same one test without the framework, ``python -m unittest
  flaskbench.noiso_tests`` on a database whose tables exist (a server
  started here): the stack, the app's import, its factory (engine creation
  and the dialect's import), its first connection and the cold first test.

The framework's own start-up is ``run − app`` (the issue's "one-test run,
minus the bare import, minus the user's app import"), paired by round; that
difference also holds the user's factory and the first test, which any run
of the test pays, so ``run − bare`` is shown beside it: what the framework
alone adds (its imports, the server, the test database, the schema, the
isolation, the teardown). Its own imports are ``ours − app``.

``--vs-path DIR`` adds a sixth command, the same run with ``PYTHONPATH=DIR``
(another checkout's package, such as ``git archive main flask_dbtestcase |
tar -x -C DIR``), interleaved with the others, so a change is measured side
by side. With ``--profile`` it prints where a one-test run's time goes
(cProfile, the package's functions). Nothing here asserts a timing: it
prints medians (min–max).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

from common import compile_bytecode, create_database, median_range, run_python  # noqa: E402  (bench/ is this script's directory)

OURS = (
    "import {driver}, flaskbench, flask_dbtestcase.runner.command, "
    "flask_dbtestcase.databases.cancel, flask_dbtestcase.postgres.server, "
    "flask_dbtestcase.cases.classes"
)
COMMANDS = {
    "stack": ["-c", "import flask, flask_sqlalchemy, sqlalchemy, {driver}"],
    "app": ["-c", "import {driver}, flaskbench"],
    "ours": ["-c", OURS],
    "run": ["-m", "flask_dbtestcase", "flaskbench.e2e_tests", "--noinput"],
    "bare": ["-m", "unittest", "flaskbench.noiso_tests"],
    "pytest": ["-m", "pytest", "flaskbench/pytest_e2e.py", "-q", "-p", "no:cacheprovider"],
}
LABELS = {
    "stack": "`import flask, flask_sqlalchemy, sqlalchemy, {driver}`",
    "app": "`import {driver}, flaskbench` (the stack + the user's app)",
    "ours": "the app + the framework modules a run imports",
    "run": "one-test run: `python -m flask_dbtestcase flaskbench.e2e_tests` (own server)",
    "bare": "the same test without the framework: `python -m unittest` (tables exist)",
    "pytest": "the same test as a pytest function: `python -m pytest` (the plugin, own server)",
}
#: Set by --driver: handed to the runs (and to the default driver's look-up).
DRIVER: str | None = None
#: Set by --vs-path: the package directory of the "base" run.
VS_PATH: str | None = None
#: The database of the ``bare`` command, on a server started by main().
BARE_URL = ""


def env() -> dict[str, str]:
    e = dict(os.environ, BENCH_SUITE_TESTS="1", PYTHONDONTWRITEBYTECODE="1")
    for var in ("FLASK_DBTESTCASE_DATABASE_URL", "TEST_DATABASE_URL"):
        e.pop(var, None)
    if DRIVER:
        e["FLASK_DBTESTCASE_DRIVER"] = DRIVER
    if BARE_URL:
        e["BENCH_FLASK_DATABASE_URL"] = BARE_URL
    return e


def run_driver() -> str:
    """The driver a run uses: --driver, else the framework's default choice."""
    code = (
        "from flask_dbtestcase.databases.drivers import choose_driver; "
        "from flask_dbtestcase.settings import Settings; "
        "print(choose_driver(Settings.load().driver).name)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=HERE, env=env(), capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"startup: could not find the run's driver:\n{proc.stderr[-3000:]}")
    return proc.stdout.strip()


def commands(driver: str) -> dict[str, list[str]]:
    named = dict(COMMANDS, base=COMMANDS["run"]) if VS_PATH else COMMANDS
    return {name: [a.format(driver=driver) for a in args] for name, args in named.items()}


def timed(args: list[str], extra_env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run a command; return its wall time and its CPU time (its children's, the server's, in)."""
    return run_python(args, HERE, {**env(), **(extra_env or {})})


def fmt(xs: list[float]) -> str:
    return median_range(xs, 1e3, ",.0f")


Samples = dict[str, list[float]]


def measure(repeats: int, driver: str) -> tuple[Samples, Samples]:
    """Return each command's wall times and CPU times, round by round."""
    samples: Samples = {name: [] for name in commands(driver)}
    cpu: Samples = {name: [] for name in commands(driver)}
    for rnd in range(repeats + 1):  # round 0 warms the page cache and the initdb cache
        for name, args in commands(driver).items():
            extra = {"PYTHONPATH": VS_PATH} if name == "base" and VS_PATH else {}
            if name == "pytest":
                extra["FLASK_APP"] = "flaskbench:create_app"  # the plugin's app
            elapsed, used = timed(args, extra)
            if rnd:
                samples[name].append(elapsed)
                cpu[name].append(used)
    return samples, cpu


def shares(samples: Samples) -> list[tuple[str, list[float]]]:
    """The shares of a run's time, each paired by round."""

    def minus(a: str, b: str) -> list[float]:
        return [x - y for x, y in zip(samples[a], samples[b])]

    found = [
        ("the user's app import (app − stack)", minus("app", "stack")),
        ("the framework's own imports (ours − app)", minus("ours", "app")),
        ("**the framework's own start-up (run − app)**", minus("run", "app")),
        ("the user's factory, first connection and first test (bare − app)", minus("bare", "app")),
        ("**what the framework alone adds (run − bare)**", minus("run", "bare")),
        ("the pytest run against the bare one (pytest − bare; pytest's own start-up in it)",
         minus("pytest", "bare")),
    ]  # fmt: skip
    if "base" in samples:
        found.append(("the same, --vs-path package (base − app)", minus("base", "app")))
        found.append(("run − base (this checkout against --vs-path)", minus("run", "base")))
    return found


def report(samples: Samples, cpu: Samples, driver: str) -> str:
    n = len(samples["run"])
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        f"Start-up, whole-process wall time and CPU time (the process and its children: the"
        f" throwaway server) in ms, median (min–max) of {n} interleaved rounds; driver"
        f" {driver}; load average at the end {load}\n",
        "| command | wall ms | CPU ms |",
        "|---|---|---|",
    ]
    labels = dict(LABELS, base=f"the same run, package from `{VS_PATH}` (--vs-path)")
    for name, xs in samples.items():
        lines.append(f"| {labels[name].format(driver=driver)} | {fmt(xs)} | {fmt(cpu[name])} |")
    lines += ["", "| share (paired by round) | wall ms | CPU ms |", "|---|---|---|"]
    for (label, wall), (_, used) in zip(shares(samples), shares(cpu)):
        lines.append(f"| {label} | {fmt(wall)} | {fmt(used)} |")
    if "base" in samples:
        ratio = [r / b for r, b in zip(samples["run"], samples["base"])]
        lines.append(
            f"| run / base wall, paired | {statistics.median(ratio):.3f}"
            f" ({min(ratio):.3f}–{max(ratio):.3f}) | |"
        )
    return "\n".join(lines) + "\n"


def profile() -> str:
    with tempfile.NamedTemporaryFile(suffix=".prof", delete=False) as f:
        path = f.name
    try:
        timed(["-m", "cProfile", "-o", path, *commands("")["run"]])
        import io
        import pstats

        out = io.StringIO()
        stats = pstats.Stats(path, stream=out)
        stats.sort_stats("cumulative").print_stats(r"flask_dbtestcase|testing/postgresql", 30)
        return out.getvalue()
    finally:
        os.unlink(path)


def main() -> None:
    global DRIVER, VS_PATH, BARE_URL
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--driver", choices=("psycopg", "psycopg2"), default=None)
    p.add_argument("--vs-path", default=None, help="also time the run on this package dir")
    p.add_argument("--profile", action="store_true")
    a = p.parse_args()
    DRIVER, VS_PATH = a.driver, a.vs_path
    compile_bytecode(*([os.path.join(VS_PATH, "flask_dbtestcase")] if VS_PATH else []))
    driver = run_driver()
    from flask_dbtestcase.postgres.server import ThrowawayServer
    from flask_dbtestcase.settings import Settings

    # For ``bare``: round 0 makes its tables.
    server = ThrowawayServer.start(Settings.load().server_config())
    try:
        BARE_URL = server.url("startup_bare", driver)
        create_database(BARE_URL)
        print(report(*measure(a.repeats, driver), driver))
    finally:
        server.stop()
    if a.profile:
        print(profile())


if __name__ == "__main__":
    main()
