"""The pytest plugin against in-memory SQLite, and its per-test cost against the classes'.

    python bench/sqlite.py [--repeats 5] [--tests 200]

Whole-command wall times, interleaved round by round after one warm-up
round (it fills the throwaway server's initdb cache, as any second run of a
project finds it), bytecode compiled first:

- ``plugin``: ``python -m pytest tests/pytest_style_test.py`` in
  ``examples/blog``, as a user runs the example's pytest functions: the
  plugin's ``db``, ``client``, ``module_db`` and ``assert_num_queries`` on
  its own throwaway PostgreSQL server, the schema built by the example's
  migrations;
- ``sqlite``: the same test functions (imported unchanged by
  ``sqliteproject/test_blog.py``) on in-memory SQLite with
  cookiecutter-flask's fixtures (``sqliteproject/conftest.py``:
  ``create_all()`` before each test, ``drop_all()`` after it), the plugin
  disabled (``-p no:flask_dbtestcase``), as in a project without it. The
  module-scoped ``alice`` is per test there: the recipe's tables do not
  outlive a test;
- two more plugin runs: ``--no-migrations`` (the schema by ``create_all()``,
  as the SQLite recipe builds it, instead of the example's migrations, whose
  Alembic scripts load Mako, which loads Pygments) and ``--reuse-db`` (the
  kept data directory and test database: no copy of the initdb cache, no
  ``CREATE DATABASE``, no schema build).

Both run with ``-q -p no:cacheprovider -p no:randomly`` (no cache written,
the tests in file order); every test of the module runs on both sides, none
needs a PostgreSQL-only feature.

Per test (``--tests`` N, default 200): the bench's 300-test workload
(bench/README.md, workload (c)) cut to N tests and to 1, as pytest functions
on the plugin's ``db`` and ``client`` (``flaskbench/pytest_e2e.py``, ``python
-m pytest``) and as FlaskDBTestCase classes (``flaskbench/e2e_tests.py``,
``python -m flask_dbtestcase``), each on its own throwaway server. The
per-test cost is ``(N-test run − 1-test run) / (N − 1)``, paired by round.

Each figure also has its CPU time, the command's and its children's (the
throwaway server's too): what a busy machine charges for, where wall time
hides work done on another core. Ratios are paired by round. Nothing here
asserts a timing.
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BLOG = os.path.join(ROOT, "examples", "blog")
SQLITE_PROJECT = os.path.join(HERE, "sqliteproject")
sys.path.insert(0, HERE)

from commands import clean_env, fmt, load_line  # noqa: E402
from common import compile_bytecode, driver_name, run_python  # noqa: E402

#: The example's pytest functions (its other modules are unittest classes).
BLOG_TESTS = "tests/pytest_style_test.py"
#: No cache directory written, the tests in file order; the same on every side.
PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
LABELS = {
    "plugin": "plugin: `python -m pytest tests/pytest_style_test.py` in examples/blog",
    "plugin_create_all": "the same, `--no-migrations` (`create_all()`, as the SQLite recipe)",
    "plugin_reuse_db": "the same, `--reuse-db` (kept server data and test database)",
    "sqlite": "in-memory SQLite, cookiecutter-flask's `create_all`/`drop_all` fixtures",
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--tests", type=int, default=200, help="the per-test run's size")
    p.add_argument("--skip-per-test", action="store_true", help="only plugin against SQLite")
    a = p.parse_args()
    compile_bytecode(os.path.join(BLOG, "blog"), os.path.join(BLOG, "tests"), SQLITE_PROJECT)
    env = clean_env()
    commands: dict[str, tuple[list[str], str, dict[str, str]]] = {
        "plugin": ([*PYTEST, BLOG_TESTS], BLOG, env),
        "plugin_create_all": ([*PYTEST, "--no-migrations", BLOG_TESTS], BLOG, env),
        "plugin_reuse_db": ([*PYTEST, "--reuse-db", BLOG_TESTS], BLOG, env),
        "sqlite": ([*PYTEST, "-p", "no:flask_dbtestcase", "test_blog.py"], SQLITE_PROJECT, env),
    }
    if not a.skip_per_test:
        app_env = dict(env, FLASK_APP="flaskbench:create_app")  # the plugin's app
        for n in (a.tests, 1):
            sized = dict(app_env, BENCH_SUITE_TESTS=str(n))
            commands[f"pytest_{n}"] = ([*PYTEST, "flaskbench/pytest_e2e.py"], HERE, sized)
            classes = ["-m", "flask_dbtestcase", "flaskbench.e2e_tests", "--noinput"]
            commands[f"classes_{n}"] = (classes, HERE, sized)
    before = load_line()
    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for rnd in range(a.repeats + 1):  # round 0 warms up (the initdb cache, the page cache)
        for name, (args, cwd, cmd_env) in commands.items():
            took, used = run_python(args, cwd, cmd_env)
            if rnd:
                wall[name].append(took)
                cpu[name].append(used)
    driver = driver_name()
    print(
        f"The example blog's pytest functions (3 tests), whole command, wall s, median "
        f"(min–max) of {a.repeats} interleaved rounds after a warm-up round; the plugin on "
        f"{driver}; {before} before, {load_line()} after\n"
    )
    print("| command | wall, s | vs SQLite (paired) | CPU, s (with children: the server) |")
    print("|---|---|---|---|")
    for name in LABELS:
        ratio = [x / s for x, s in zip(wall[name], wall["sqlite"])]
        print(
            f"| {LABELS[name]} | {fmt(wall[name], digits=3)} | {fmt(ratio)}x "
            f"| {fmt(cpu[name], digits=3)} |"
        )
    if a.skip_per_test:
        return
    n = a.tests
    per, per_cpu = (
        {
            kind: [(big - one) / (n - 1) for big, one in zip(xs[f"{kind}_{n}"], xs[f"{kind}_1"])]
            for kind in ("pytest", "classes")
        }
        for xs in (wall, cpu)
    )
    print(
        f"\nPer test: ({n}-test run − 1-test run) / {n - 1}, ms, the 300-test workload's "
        "test, each command on its own throwaway server\n"
    )
    print(
        f"| style | 1 test, s | {n} tests, s | per test, ms | vs the classes (paired) "
        "| CPU per test, ms (with children) | vs the classes (paired) |"
    )
    print("|---|---|---|---|---|---|---|")
    for kind, label in (
        ("pytest", "pytest functions, the plugin's `db` + `client` (`python -m pytest`)"),
        ("classes", "FlaskDBTestCase classes (`python -m flask_dbtestcase`)"),
    ):
        ratio = [x / c for x, c in zip(per[kind], per["classes"])]
        cpu_ratio = [x / c for x, c in zip(per_cpu[kind], per_cpu["classes"])]
        one, big = fmt(wall[f"{kind}_1"], digits=3), fmt(wall[f"{kind}_{n}"], digits=3)
        print(
            f"| {label} | {one} | {big} | {fmt(per[kind], scale=1000)} | {fmt(ratio)}x "
            f"| {fmt(per_cpu[kind], scale=1000)} | {fmt(cpu_ratio)}x |"
        )


if __name__ == "__main__":
    main()
