"""The per-test cost on each kind of app: Flask-SQLAlchemy, Flask-SQLAlchemy-Lite, plain SQLAlchemy.

    .venv/bin/python bench/kinds.py [--tests 500] [--repeats 5]

Three apps with the same model and route, one per kind; for each, a
FlaskDBTestCase class of ``--tests`` tests (each adds a row through the
app's session, flushes, counts the rows, and makes one request that reads
them). The three suites run in one process, interleaved, ``--repeats``
times; the median wall time per test of each is printed, with the Lite and
plain figures relative to Flask-SQLAlchemy's. The process is pinned to one
CPU; the server is the run's throwaway one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import unittest

import flask_sqlalchemy_lite
import sqlalchemy as sa
from flask import Flask, jsonify
from flask.globals import app_ctx
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, scoped_session, sessionmaker

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flask_dbtestcase import FlaskDBTestCase  # noqa: E402


class FsaBase(DeclarativeBase):
    pass


class LiteBase(DeclarativeBase):
    pass


class PlainBase(DeclarativeBase):
    pass


fsa = SQLAlchemy(model_class=FsaBase)
lite = flask_sqlalchemy_lite.SQLAlchemy()
Session = scoped_session(sessionmaker(), scopefunc=lambda: id(app_ctx._get_current_object()))


def model(base, table):
    return type(
        table.title().replace("_", ""),
        (base,),
        {
            "__tablename__": table,
            "__annotations__": {"id": Mapped[int], "name": Mapped[str]},
            "id": mapped_column(primary_key=True),
            "name": mapped_column(sa.String(40)),
        },
    )


FsaRow = model(fsa.Model, "bench_kind_fsa")
LiteRow = model(LiteBase, "bench_kind_lite")
PlainRow = model(PlainBase, "bench_kind_plain")


def route(app, session, row):
    @app.get("/count")
    def count():
        return jsonify(count=session().scalar(sa.select(sa.func.count(row.id))))


def fsa_app(config):
    app = Flask("fsa")
    app.config.update(config)
    fsa.init_app(app)
    route(app, lambda: fsa.session, FsaRow)
    return app


def lite_app(config):
    app = Flask("lite")
    app.config.update(config)
    lite.init_app(app)
    route(app, lambda: lite.session, LiteRow)
    return app


def plain_app(config):
    app = Flask("plain")
    app.config.update(config)
    Session.session_factory.configure(bind=sa.create_engine(app.config["BENCH_URL"]))
    app.extensions["session"] = Session
    app.teardown_appcontext(lambda exc: Session.remove())
    route(app, Session, PlainRow)
    return app


def body(self):
    self.session.add(self.row(name="x"))
    self.session.flush()
    self.session.scalar(sa.select(sa.func.count(self.row.id)))
    self.client.get("/count")


def case(name, factory, row, tests, **attributes):
    namespace = {"app_factory": staticmethod(factory), "row": row, **attributes}
    namespace.update({f"test_{n:04d}": body for n in range(tests)})
    return type(name, (FlaskDBTestCase,), namespace)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    kinds = {
        "Flask-SQLAlchemy": case("Fsa", fsa_app, FsaRow, args.tests),
        "Flask-SQLAlchemy-Lite": case(
            "Lite", lite_app, LiteRow, args.tests, metadata=LiteBase.metadata
        ),
        "plain SQLAlchemy": case(
            "Plain", plain_app, PlainRow, args.tests,
            metadata=PlainBase.metadata, database_url_key="BENCH_URL",
        ),
    }  # fmt: skip
    loader = unittest.TestLoader()
    for cls in kinds.values():  # warm up: apps, schema, shared connection
        loader.loadTestsFromTestCase(cls).run(unittest.TestResult())
    wall: dict[str, list[float]] = {name: [] for name in kinds}
    cpu: dict[str, list[float]] = {name: [] for name in kinds}
    statements: dict[str, int] = {}
    for _ in range(args.repeats):
        for name, cls in kinds.items():
            suite = loader.loadTestsFromTestCase(cls)
            result = unittest.TestResult()
            sent: list[int] = []

            def count(*args, sent=sent):
                sent.append(1)

            sa.event.listen(sa.Engine, "before_cursor_execute", count)
            started, started_cpu = time.perf_counter(), time.process_time()
            suite.run(result)
            elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
            sa.event.remove(sa.Engine, "before_cursor_execute", count)
            if not result.wasSuccessful():
                raise SystemExit(f"{name}: {result.errors or result.failures}")
            wall[name].append(elapsed / args.tests * 1e6)
            cpu[name].append(elapsed_cpu / args.tests * 1e6)
            statements[name] = len(sent)
    print(f"{args.tests} tests per kind, medians of {args.repeats} interleaved runs (µs/test):")
    for label, samples in (("wall", wall), ("client CPU", cpu)):
        base = statistics.median(samples["Flask-SQLAlchemy"])
        for name, values in samples.items():
            median = statistics.median(values)
            runs = ", ".join(f"{v:.0f}" for v in values)
            print(
                f"  {label:10} {name:22} {median:7.0f}  ({median / base - 1:+6.1%})  runs: {runs}"
            )
    for name, number in statements.items():
        print(f"  statements per test, {name}: {number / args.tests:.2f}")


if __name__ == "__main__":
    main()
