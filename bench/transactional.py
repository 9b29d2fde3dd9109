"""FlaskDBTransactionTestCase's clean-up per test against Django's TransactionTestCase flush.

    python bench/transactional.py [--tests 100] [--repeats 7] [--no-django]
    bench/.venv-django/bin/python bench/transactional.py   # with the Django side

One process, on a throwaway server of its own (client pinned to CPU 0,
server to CPU 1). The app has 30 tables: ``t00`` and 29 tables whose
foreign key points at it (as most tables of an app point at its users).
Each test inserts a row into ``t00`` and one into ``t01`` through the ORM
and commits. It times, interleaved round by round, one class of N such
tests as:

- ``FlaskDBTestCase`` (the commits are savepoints, rolled back per test);
- ``FlaskDBTransactionTestCase`` (real commits; the database is put back after each test);

and, when Django imports (it is installed only in bench/.venv-django: ``make
bench/.venv-django/.installed``), on a Django app with the same 30 tables
(``djtransactional/``, its test database ``test_djtransactional`` on the same
server, in this process) and the same test body:

- ``django.test.TestCase`` (the test's transaction rolled back);
- ``django.test.TransactionTestCase`` with its defaults (``available_apps =
  None``, ``reset_sequences = False``, ``serialized_rollback = False``):
  after each test ``flush`` TRUNCATEs all 30 tables (checked before timing)
  and the connection is closed, as Django users pay it.

Each round runs the four classes in that order; round 0 warms up and is
not counted. The clean-up cost per test is the difference of the per-test
times, round by round: what FlaskDBTransactionTestCase does after a test
(and its real commits' own cost) beyond FlaskDBTestCase's rollback, and
Django's TransactionTestCase beyond its TestCase. Run it on another checkout
(``PYTHONPATH=<checkout> python bench/transactional.py``) for a before/after.
Nothing here asserts a timing: it prints medians (min–max).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
import typing as t
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from common import bench_database, check_result, driver_name, median_range, pin_server  # noqa: E402

TABLES = 30


def make_app_module():
    """Return the bench app's ``create_app`` and its two written models (built on first use)."""
    import sqlalchemy as sa
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

    class Base(DeclarativeBase):
        pass

    db = SQLAlchemy(model_class=Base)
    models = {}
    for i in range(TABLES):
        attrs = {
            "__tablename__": f"t{i:02d}",
            "id": mapped_column(sa.Integer, primary_key=True),
            "name": mapped_column(sa.String(40)),
        }
        if i:
            attrs["parent_id"] = mapped_column(sa.ForeignKey("t00.id"), nullable=True)
        attrs["__annotations__"] = {"id": Mapped[int], "name": Mapped[str]}
        models[i] = type(f"T{i:02d}", (db.Model,), attrs)

    def create_app(config=None):
        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["BENCH_FLASK_DATABASE_URL"]
        app.config.update(config or {})
        db.init_app(app)
        return app

    return create_app, db, models[0], models[1]


def make_class(base: type, n: int, app) -> type:
    create_app, db, first, second = app

    def test(self) -> None:
        parent = first(name="parent")
        db.session.add(parent)
        db.session.flush()
        db.session.add(second(name="child", parent_id=parent.id))
        db.session.commit()

    attrs = {f"test_{i:04d}": test for i in range(n)}
    attrs.update(__module__=__name__, app_factory=staticmethod(create_app))
    return type(f"Bench{base.__name__}", (base,), attrs)


def run(cls: type) -> float:
    suite = unittest.TestLoader().loadTestsFromTestCase(cls)
    result = unittest.TestResult()
    gc.collect()
    start = time.perf_counter()
    suite(result)
    elapsed = time.perf_counter() - start
    check_result(result, "transactional")
    return elapsed


def django_missing() -> str | None:
    """Why the Django side cannot run in this interpreter, or ``None`` when it can."""
    try:
        import django  # noqa: F401
    except ImportError:
        return (
            "transactional: the Django comparison needs bench/.venv-django "
            "(make bench/.venv-django/.installed, then run with bench/.venv-django/bin/python)"
        )
    return None


def start_django(server: t.Any, url: str, tests: int) -> tuple[str, dict[str, type]]:
    """Create Django's test database on the bench server; its two classes of ``tests`` tests.

    Returns the name :func:`djtransactional.cases.teardown` needs and the classes.
    Checks first that a TransactionTestCase test really flushes all the tables.
    """
    import sqlalchemy as sa
    from django.test import TestCase, TransactionTestCase

    from djtransactional import cases

    parsed = sa.engine.make_url(url)
    old_name = cases.setup(server.socket_dir, parsed.port or 5432, parsed.username or "postgres")
    try:
        from djtransactional.models import TABLES as DJANGO_TABLES  # once Django is set up

        flush = [q for q in cases.flush_statements() if q.upper().startswith("TRUNCATE")]
        names = {f"t{i:02d}" for i in range(DJANGO_TABLES)}
        if (
            DJANGO_TABLES != TABLES
            or len(flush) != 1
            or not all(f'"{n}"' in flush[0] for n in names)
        ):
            raise SystemExit(
                f"transactional: Django's flush is not one TRUNCATE of the tables: {flush}"
            )
    except BaseException:
        cases.teardown(old_name)
        raise
    classes = {
        "Django TestCase": cases.make_class(TestCase, tests),
        "Django TransactionTestCase": cases.make_class(TransactionTestCase, tests),
    }
    return old_name, classes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tests", type=int, default=100)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--no-django", action="store_true", help="skip the Django side")
    a = p.parse_args()
    missing = None if a.no_django else django_missing()
    if missing:
        print(missing)
    with_django = not a.no_django and missing is None
    with bench_database("test_transactional") as (server, url):
        from flask_dbtestcase import FlaskDBTestCase, FlaskDBTransactionTestCase

        app = make_app_module()
        classes = {
            "FlaskDBTestCase": make_class(FlaskDBTestCase, a.tests, app),
            "FlaskDBTransactionTestCase": make_class(FlaskDBTransactionTestCase, a.tests, app),
        }
        django_db = None
        try:
            if with_django:
                django_db, django_classes = start_django(server, url, a.tests)
                classes.update(django_classes)
            samples: dict[str, list[float]] = {name: [] for name in classes}
            for rnd in range(a.repeats + 1):  # round 0 warms up
                for name, cls in classes.items():
                    elapsed = run(cls) / a.tests
                    if rnd:
                        samples[name].append(elapsed)
                if rnd == 0:
                    pin_server(server.data_dir, {1})
            driver = f"; flask-dbtestcase on {driver_name()}"
            if with_django:
                from djtransactional.cases import driver as django_driver

                driver += f", Django on {django_driver()}"
        finally:
            if django_db is not None:
                from djtransactional.cases import teardown

                teardown(django_db)
        report(samples, a.tests, a.repeats, driver)


def report(samples: dict[str, list[float]], tests: int, repeats: int, driver: str) -> None:
    """Print the table(s) of medians (min–max) and, with Django, the ratio of the clean-ups."""
    fmt = lambda xs: median_range(xs, 1e3, ".2f")  # noqa: E731
    fdt, ftt = samples["FlaskDBTestCase"], samples["FlaskDBTransactionTestCase"]
    cleanup = [x - y for x, y in zip(ftt, fdt)]
    print(
        f"FlaskDBTransactionTestCase clean-up, {TABLES}-table app, 2 tables written per "
        f"test, {tests} tests a class, median (min–max) of {repeats} rounds, ms per test "
        f"(client CPU 0, server CPU 1{driver})\n"
    )
    print("| FlaskDBTestCase | FlaskDBTransactionTestCase | clean-up per test |")
    print("|---|---|---|")
    print(f"| {fmt(fdt)} | {fmt(ftt)} | {fmt(cleanup)} |")
    if "Django TestCase" not in samples:
        return
    dtc, dttc = samples["Django TestCase"], samples["Django TransactionTestCase"]
    flush = [x - y for x, y in zip(dttc, dtc)]
    print()
    print("| Django TestCase | Django TransactionTestCase | Django clean-up per test |")
    print("|---|---|---|")
    print(f"| {fmt(dtc)} | {fmt(dttc)} | {fmt(flush)} |")
    ratio = statistics.median(cleanup) / statistics.median(flush)
    print(f"\nflask-dbtestcase's clean-up / Django's flush: {ratio:.2f}x")


if __name__ == "__main__":
    main()
