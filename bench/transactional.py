"""FlaskDBTransactionTestCase's clean-up per test, on a 30-table app whose tests write 2 tables.

    python bench/transactional.py [--tests 100] [--repeats 7]

One process, on a throwaway server of its own (client pinned to CPU 0,
server to CPU 1). The app has 30 tables: ``t00`` and 29 tables whose
foreign key points at it (as most tables of an app point at its users).
Each test inserts a row into ``t00`` and one into ``t01`` through the ORM
and commits. It times, interleaved round by round, one class of N such
tests as:

- ``FlaskDBTestCase`` (the commits are savepoints, rolled back per test);
- ``FlaskDBTransactionTestCase`` (real commits; the database is put back after each test).

The clean-up cost per test is the difference of their per-test times:
what FlaskDBTransactionTestCase does after a test (and its real commits'
own cost) beyond FlaskDBTestCase's rollback. Run it on another checkout
(``PYTHONPATH=<checkout> python bench/transactional.py``) for a before/after.
Nothing here asserts a timing: it prints medians (min–max).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from common import bench_database, median_range, pin_server  # noqa: E402

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
    if not result.wasSuccessful():
        for test, text in (result.errors + result.failures)[:3]:
            sys.stderr.write(f"{test}\n{text}\n")
        raise SystemExit("transactional: the benchmark's own tests failed")
    return elapsed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tests", type=int, default=100)
    p.add_argument("--repeats", type=int, default=7)
    a = p.parse_args()
    with bench_database("test_transactional") as (server, url):
        from flask_dbtestcase import FlaskDBTestCase, FlaskDBTransactionTestCase

        app = make_app_module()
        classes = {
            "FlaskDBTestCase": make_class(FlaskDBTestCase, a.tests, app),
            "FlaskDBTransactionTestCase": make_class(FlaskDBTransactionTestCase, a.tests, app),
        }
        samples: dict[str, list[float]] = {name: [] for name in classes}
        for rnd in range(a.repeats + 1):  # round 0 warms up
            for name, cls in classes.items():
                elapsed = run(cls) / a.tests
                if rnd:
                    samples[name].append(elapsed)
            if rnd == 0:
                pin_server(server.data_dir, {1})
        fdt, ftt = samples["FlaskDBTestCase"], samples["FlaskDBTransactionTestCase"]
        cleanup = [t - s for t, s in zip(ftt, fdt)]
        print(
            f"FlaskDBTransactionTestCase clean-up, {TABLES}-table app, 2 tables written per "
            f"test, {a.tests} tests a class, median (min–max) of {a.repeats} rounds, ms per test "
            "(client CPU 0, server CPU 1)\n"
        )
        print("| FlaskDBTestCase | FlaskDBTransactionTestCase | clean-up per test |")
        print("|---|---|---|")
        fmt = lambda xs: median_range(xs, 1e3, ".2f")  # noqa: E731
        print(f"| {fmt(fdt)} | {fmt(ftt)} | {fmt(cleanup)} |")


if __name__ == "__main__":
    main()
