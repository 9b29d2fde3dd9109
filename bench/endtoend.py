"""End to end against Django's ``manage.py test``, and what the Flask stack costs.

    bench/.venv-django/bin/python bench/endtoend.py [--tests 300] [--repeats 5]

Whole-process wall times of the same 300 tests (bench/README.md, workload
(c)), interleaved round by round after one warm-up round, on one throwaway
server started here (unpinned):

- ``python -m flask_dbtestcase flaskbench.e2e_tests`` on its own throwaway
  server, and with ``--database-url`` on this one;
- ``python -m pytest flaskbench/pytest_e2e.py``: the same tests as pytest
  functions on the plugin's ``db`` and ``client`` fixtures, on its own
  throwaway server;
- ``python manage.py test djbench.tests`` (this server);
- ``python -m unittest flaskbench.noiso_tests``: the Flask + Flask-SQLAlchemy
  stack with no isolation at all, and no database set-up (the tables exist):
  the floor the Flask stack sets;
- the imports alone: ``import DRIVER, flaskbench`` (the run's driver) against Django's
  ``django.setup()`` and its test runner's modules.

Ratios are paired by round. With ``--profile``, one more run each of the
stack without isolation, ``flask_dbtestcase --database-url`` and
``manage.py test`` under cProfile prints their self time by package: where
the Flask stack's time goes against Django's. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from commands import clean_env, fmt, load_line, run_cmd  # noqa: E402
from common import create_database, driver_name  # noqa: E402

DJANGO_IMPORTS = (
    "import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'djbench.settings'); "
    "import django; django.setup(); import django.test.runner, djbench.models, djbench.views"
)
LABELS = {
    "fdt_own": "`python -m flask_dbtestcase` (own throwaway server)",
    "fdt_url": "`python -m flask_dbtestcase --database-url` (this server)",
    "fdt_pytest": "`python -m pytest`, the plugin's fixtures (own throwaway server)",
    "django": "`python manage.py test` (this server)",
    "noiso": "`python -m unittest`, Flask stack without isolation (this server, tables exist)",
    "flask_imports": "imports only: `import DRIVER, flaskbench`",
    "django_imports": "imports only: `django.setup()` + test runner + app modules",
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tests", type=int, default=300)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--profile", action="store_true", help="also print self time by package")
    a = p.parse_args()
    try:
        import django  # noqa: F401
    except ImportError:
        raise SystemExit(
            "endtoend: run it with bench/.venv-django/bin/python (make bench)"
        ) from None
    from flask_dbtestcase.postgres.server import ThrowawayServer
    from flask_dbtestcase.settings import Settings

    # Every Flask command uses the driver a run picks (psycopg 3 under
    # SQLAlchemy 2.1), as Django does when psycopg 3 is installed.
    driver = driver_name()
    server = ThrowawayServer.start(Settings.load().server_config())
    before = load_line()
    try:
        noiso_url = server.url("test_e2e_noiso", driver)
        create_database(noiso_url)
        env = clean_env(
            BENCH_SUITE_TESTS=str(a.tests),
            BENCH_PG_HOST=server.socket_dir,
            BENCH_DJANGO_DB="e2e_django",
            BENCH_FLASK_DATABASE_URL=noiso_url,
        )
        pytest_env = dict(env, FLASK_APP="flaskbench:create_app")  # the plugin's app
        fdt = ["-m", "flask_dbtestcase", "flaskbench.e2e_tests", "--noinput"]
        commands = {
            "fdt_own": fdt,
            "fdt_url": [*fdt, "--database-url", server.url("e2e_flask", "psycopg2")],
            "fdt_pytest": ["-m", "pytest", "flaskbench/pytest_e2e.py", *PYTEST_OPTIONS],
            "django": ["manage.py", "test", "djbench.tests", "--noinput"],
            "noiso": ["-m", "unittest", "flaskbench.noiso_tests"],
            "flask_imports": ["-c", f"import {driver}, flaskbench"],
            "django_imports": ["-c", DJANGO_IMPORTS],
        }
        wall: dict[str, list[float]] = {name: [] for name in commands}
        for rnd in range(a.repeats + 1):  # round 0 warms up
            for name, args in commands.items():
                run = run_cmd(args, pytest_env if name == "fdt_pytest" else env)
                if rnd:
                    wall[name].append(run.wall)
        profiles = (
            {name: profile_by_package(commands[name], env) for name in PROFILED}
            if a.profile
            else {}
        )
    finally:
        server.stop()
    print(
        f"End to end, {a.tests} tests, whole command, wall s, median (min–max) of "
        f"{a.repeats} interleaved rounds; Flask commands on {driver}, Django on "
        f"{_django_driver()}; {before} before, {load_line()} after\n"
    )
    print("| command | s | vs `manage.py test` (paired) |")
    print("|---|---|---|")
    for name in commands:
        ratio = [x / d for x, d in zip(wall[name], wall["django"])]
        print(f"| {LABELS[name]} | {fmt(wall[name], digits=3)} | {fmt(ratio)}x |")
    med = {name: statistics.median(xs) for name, xs in wall.items()}
    stack = med["noiso"] - med["django"]
    imports = med["flask_imports"] - med["django_imports"]
    ours = med["fdt_url"] - med["noiso"]
    print(
        f"\nThe Flask stack with no isolation takes {stack:.3f} s more than Django's whole "
        f"command ({imports:.3f} s of it in the imports); flask_dbtestcase on the same "
        f"server takes {abs(ours):.3f} s {'more' if ours >= 0 else 'less'} than the stack alone."
    )
    if profiles:
        print_profiles(profiles)


#: No cache directory written into bench/, the tests in file order.
PYTEST_OPTIONS = ["-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
#: The commands --profile runs under cProfile.
PROFILED = ("noiso", "fdt_url", "django")


def profile_by_package(args: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run ``args`` under cProfile; return its self time (s) by top-level package.

    :param args: the interpreter's arguments (``-m module ...`` or ``script ...``).
    :param env: the command's environment.
    """
    import pstats
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".prof", delete=False) as f:
        out = f.name
    try:
        run_cmd(["-m", "cProfile", "-o", out, *args], env)
        stats = pstats.Stats(out)
    finally:
        os.unlink(out)
    totals: dict[str, float] = {}
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        key = _package(filename)
        totals[key] = totals.get(key, 0.0) + tottime
    return totals


def _package(filename: str) -> str:
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins and C (the drivers' network waits included)"
    if "site-packages" + os.sep in filename:
        return filename.split("site-packages" + os.sep, 1)[1].split(os.sep)[0].split(".")[0]
    if filename.startswith(HERE):
        return "the bench app and its tests"
    if os.sep + "flask_dbtestcase" + os.sep in filename:
        return "flask_dbtestcase"
    return "the standard library"


def print_profiles(profiles: dict[str, dict[str, float]]) -> None:
    keys = sorted({k for p in profiles.values() for k in p}, key=lambda k: -max(
        p.get(k, 0.0) for p in profiles.values()))  # fmt: skip
    print("\nSelf time by package under cProfile, s (one run each; cProfile slows every run):\n")
    print("| package | " + " | ".join(LABELS[n] for n in profiles) + " |")
    print("|---|" + "---|" * len(profiles))
    for key in keys:
        cells = [profiles[n].get(key, 0.0) for n in profiles]
        if max(cells) >= 0.02:
            print(f"| {key} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    print("| **total** | " + " | ".join(f"{sum(p.values()):.2f}" for p in profiles.values()) + " |")


def _django_driver() -> str:
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return "psycopg" if is_psycopg3 else "psycopg2"


if __name__ == "__main__":
    main()
