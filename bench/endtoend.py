"""End to end against Django's ``manage.py test``, and what the Flask stack costs.

    bench/.venv-django/bin/python bench/endtoend.py [--tests 300] [--repeats 5]

Whole-process wall times of the same 300 tests (bench/README.md, workload
(c)), interleaved round by round after one warm-up round, on one throwaway
server started here (unpinned):

- ``python -m flask_dbtestcase flaskbench.e2e_tests`` on its own throwaway
  server, and with ``--database-url`` on this one;
- ``python manage.py test djbench.tests`` (this server);
- ``python -m unittest flaskbench.noiso_tests``: the Flask + Flask-SQLAlchemy
  stack with no isolation at all, and no database set-up (the tables exist):
  the floor the Flask stack sets;
- the imports alone: ``import psycopg2, flaskbench`` against Django's
  ``django.setup()`` and its test runner's modules.

Ratios are paired by round. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from commands import clean_env, fmt, load_line, run_cmd  # noqa: E402

DJANGO_IMPORTS = (
    "import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'djbench.settings'); "
    "import django; django.setup(); import django.test.runner, djbench.models, djbench.views"
)
LABELS = {
    "fdt_own": "`python -m flask_dbtestcase` (own throwaway server)",
    "fdt_url": "`python -m flask_dbtestcase --database-url` (this server)",
    "django": "`python manage.py test` (this server)",
    "noiso": "`python -m unittest`, Flask stack without isolation (this server, tables exist)",
    "flask_imports": "imports only: `import psycopg2, flaskbench`",
    "django_imports": "imports only: `django.setup()` + test runner + app modules",
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tests", type=int, default=300)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    try:
        import django  # noqa: F401
    except ImportError:
        raise SystemExit(
            "endtoend: run it with bench/.venv-django/bin/python (make bench)"
        ) from None
    from flask_dbtestcase.databases.creation import create_test_database
    from flask_dbtestcase.databases.urls import make_url
    from flask_dbtestcase.postgres.server import ThrowawayServer

    server = ThrowawayServer.start()
    before = load_line()
    try:
        noiso_url = server.url("test_e2e_noiso")
        create_test_database(make_url(noiso_url), interactive=False, autoclobber=True)
        env = clean_env(
            BENCH_SUITE_TESTS=str(a.tests),
            BENCH_PG_HOST=server.socket_dir,
            BENCH_DJANGO_DB="e2e_django",
            BENCH_FLASK_DATABASE_URL=noiso_url,
        )
        fdt = ["-m", "flask_dbtestcase", "flaskbench.e2e_tests", "--noinput"]
        commands = {
            "fdt_own": fdt,
            "fdt_url": [*fdt, "--database-url", server.url("e2e_flask")],
            "django": ["manage.py", "test", "djbench.tests", "--noinput"],
            "noiso": ["-m", "unittest", "flaskbench.noiso_tests"],
            "flask_imports": ["-c", "import psycopg2, flaskbench"],
            "django_imports": ["-c", DJANGO_IMPORTS],
        }
        wall: dict[str, list[float]] = {name: [] for name in commands}
        for rnd in range(a.repeats + 1):  # round 0 warms up
            for name, args in commands.items():
                run = run_cmd(args, env)
                if rnd:
                    wall[name].append(run.wall)
    finally:
        server.stop()
    print(
        f"End to end, {a.tests} tests, whole command, wall s, median (min–max) of "
        f"{a.repeats} interleaved rounds; {before} before, {load_line()} after\n"
    )
    print("| command | s | vs `manage.py test` (paired) |")
    print("|---|---|---|")
    for name in commands:
        ratio = [x / d for x, d in zip(wall[name], wall["django"])]
        print(f"| {LABELS[name]} | {fmt(wall[name], digits=3)} | {fmt(ratio)}x |")
    med = {name: statistics.median(xs) for name, xs in wall.items()}
    stack = med["noiso"] - med["django"]
    imports = med["flask_imports"] - med["django_imports"]
    print(
        f"\nThe Flask stack with no isolation takes {stack:+.3f} s more than Django's whole "
        f"command ({imports:+.3f} s of it in the imports); flask_dbtestcase on the same "
        f"server takes {med['fdt_url'] - med['noiso']:+.3f} s more than the stack alone."
    )


if __name__ == "__main__":
    main()
