"""Start-up: the framework's own share of a one-test run.

    python bench/startup.py [--repeats 9] [--profile]

Whole-process wall times, interleaved round by round after one warm-up
round (the throwaway server's initdb cache is warm):

- ``stack``: ``python -c "import flask, flask_sqlalchemy, sqlalchemy, psycopg2"``;
- ``app``: ``python -c "import psycopg2, flaskbench"``: the stack plus the
  user's app (its models, its factory's module);
- ``ours``: the app, then the framework modules a run imports;
- ``run``: ``python -m flask_dbtestcase flaskbench.e2e_tests`` with one test,
  on its own throwaway server.

The framework's own start-up is ``run − app`` (the issue's "one-test run,
minus the bare import, minus the user's app import"), paired by round; its
own imports are ``ours − app``. With ``--profile`` it prints where a
one-test run's time goes (cProfile, the package's functions). Nothing here
asserts a timing: it prints medians (min–max).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

OURS = (
    "import flaskbench, flask_dbtestcase.runner.command, flask_dbtestcase.databases.cancel, "
    "flask_dbtestcase.postgres.server, flask_dbtestcase.cases.testcase"
)
COMMANDS = {
    "stack": ["-c", "import flask, flask_sqlalchemy, sqlalchemy, psycopg2"],
    "app": ["-c", "import psycopg2, flaskbench"],
    "ours": ["-c", OURS],
    "run": ["-m", "flask_dbtestcase", "flaskbench.e2e_tests", "--noinput"],
}
LABELS = {
    "stack": "`import flask, flask_sqlalchemy, sqlalchemy, psycopg2`",
    "app": "`import psycopg2, flaskbench` (the stack + the user's app)",
    "ours": "the app + the framework modules a run imports",
    "run": "one-test run: `python -m flask_dbtestcase flaskbench.e2e_tests` (own server)",
}


def env() -> dict[str, str]:
    e = dict(os.environ, BENCH_SUITE_TESTS="1", PYTHONDONTWRITEBYTECODE="1")
    for var in ("FLASK_DBTESTCASE_DATABASE_URL", "TEST_DATABASE_URL"):
        e.pop(var, None)
    return e


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *args], cwd=HERE, env=env(), capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"startup: {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return elapsed


def fmt(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1e3:,.0f} ({min(xs) * 1e3:,.0f}–{max(xs) * 1e3:,.0f})"


def measure(repeats: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for rnd in range(repeats + 1):  # round 0 warms the page cache and the initdb cache
        for name, args in COMMANDS.items():
            elapsed = timed(args)
            if rnd:
                samples[name].append(elapsed)
    return samples


def report(samples: dict[str, list[float]]) -> str:
    n = len(samples["run"])
    lines = [
        f"Start-up, whole-process wall time in ms, median (min–max) of {n} interleaved rounds\n",
        "| command | ms |",
        "|---|---|",
    ]
    lines += [f"| {LABELS[name]} | {fmt(xs)} |" for name, xs in samples.items()]
    own = [r - a for r, a in zip(samples["run"], samples["app"])]
    imports = [o - a for o, a in zip(samples["ours"], samples["app"])]
    app = [a - s for a, s in zip(samples["app"], samples["stack"])]
    lines += [
        "",
        "| share (paired by round) | ms |",
        "|---|---|",
        f"| the user's app import (app − stack) | {fmt(app)} |",
        f"| the framework's own imports (ours − app) | {fmt(imports)} |",
        f"| **the framework's own start-up (run − app)** | {fmt(own)} |",
    ]
    return "\n".join(lines) + "\n"


def profile() -> str:
    with tempfile.NamedTemporaryFile(suffix=".prof", delete=False) as f:
        path = f.name
    try:
        timed(["-m", "cProfile", "-o", path, *COMMANDS["run"]])
        import io
        import pstats

        out = io.StringIO()
        stats = pstats.Stats(path, stream=out)
        stats.sort_stats("cumulative").print_stats(r"flask_dbtestcase|testing/postgresql", 30)
        return out.getvalue()
    finally:
        os.unlink(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--profile", action="store_true")
    a = p.parse_args()
    print(report(measure(a.repeats)))
    if a.profile:
        print(profile())


if __name__ == "__main__":
    main()
