"""One contender in one process pinned to CPU 0, driven round by round.

    python bench/worker.py CONTENDER --data-dir D --url URL --server-cpus 1 \
        --micro-tests N --suite-tests M --floor-iters K

Prints "ready", then reads one workload name a line (empty, onequery, suite;
for the raw floor: rt, savepoint, begin) and answers each with one JSON
number: the per-test (per-pair) seconds of one timed round. The first
request for a workload runs an untimed warm-up round first. "quit" ends it.
The driver interleaves the contenders round by round, so load from other
processes on the machine hits them all alike. The test database named by
--url exists and is empty; the driver drops it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from common import CLIENT_CPU, check_result, database_url, pin, pin_server  # noqa: E402


class _Args:
    data_dir: str
    server_cpus: set[int]


ARGS = _Args()


def repin() -> None:
    """Pin every server process (the backends opened so far, and the postmaster)."""
    pin_server(ARGS.data_dir, ARGS.server_cpus)


def time_micro(cls) -> float:
    """One round: per-test time of one class's tests, class set-up and tear-down excluded."""
    tests = list(unittest.TestLoader().loadTestsFromTestCase(cls))
    result = unittest.TestResult()
    cls.setUpClass()
    try:
        gc.collect()
        start = time.perf_counter()
        for test in tests:
            test(result)
        elapsed = time.perf_counter() - start
    finally:
        cls.tearDownClass()
        cls.doClassCleanups()
    check_result(result, cls.__name__)
    return elapsed / len(tests)


def time_suite(classes) -> float:
    """One round: per-test time of the whole suite as unittest runs it (class fixtures included)."""
    loader = unittest.TestLoader()
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in classes)
    n = suite.countTestCases()
    result = unittest.TestResult()
    gc.collect()
    start = time.perf_counter()
    suite(result)
    elapsed = time.perf_counter() - start
    check_result(result, "suite")
    return elapsed / n


class Floor:
    """The raw floor: the run's driver (psycopg2 or psycopg 3, as it behaves by
    default), no ORM, on a backend pinned via pg_backend_pid()."""

    def __init__(self, a) -> None:

        from flask_dbtestcase.databases.drivers import url_driver

        u = database_url(a.url)
        driver = url_driver(u)
        self.conn = driver.connect(host=u.query["host"], dbname=u.database, user=u.username)
        self.conn.autocommit = True
        self.cur = self.conn.cursor()
        self.iters = a.floor_iters

    def pin_backend(self) -> None:
        self.cur.execute("SELECT pg_backend_pid()")
        pin(self.cur.fetchone()[0], ARGS.server_cpus)

    def _loop(self, stmts) -> float:
        cur = self.cur
        gc.collect()
        start = time.perf_counter()
        for _ in range(self.iters):
            for s in stmts:
                cur.execute(s)
        return (time.perf_counter() - start) / self.iters

    def run(self, workload: str) -> float:
        if workload == "begin":
            return self._loop(("BEGIN", "ROLLBACK"))
        self.cur.execute("BEGIN")
        try:
            if workload == "rt":
                return self._loop(("SELECT 1",))
            return self._loop(("SAVEPOINT s", "ROLLBACK TO SAVEPOINT s"))
        finally:
            self.cur.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()


class Cases:
    """A test-case contender: one class per micro workload, the suite's classes."""

    def __init__(self, module, base, a) -> None:
        self.classes = {
            w: module.make_classes(base, w, a.micro_tests, a.micro_tests)
            for w in ("empty", "onequery")
        }
        self.classes["suite"] = module.make_classes(base, "suite", a.suite_tests, 30)

    def run(self, workload: str) -> float:
        if workload == "suite":
            return time_suite(self.classes["suite"])
        (cls,) = self.classes[workload]
        return time_micro(cls)

    def close(self) -> None:
        pass


def make_contender(a):
    if a.contender == "raw":
        floor = Floor(a)
        floor.pin_backend()
        return floor
    if a.contender == "django":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djbench.settings")
        import django

        django.setup()
        from django.db import connection
        from django.test.runner import DiscoverRunner

        from djbench import cases

        runner = DiscoverRunner(verbosity=0, interactive=False)
        runner.setup_test_environment()
        old = runner.setup_databases()
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pin(cur.fetchone()[0], ARGS.server_cpus)
        contender = Cases(cases, cases.DjangoTC, a)

        def close() -> None:
            connection.close()
            runner.teardown_databases(old)
            runner.teardown_test_environment()

        contender.close = close  # type: ignore[method-assign]
        return contender

    url = database_url(a.url).render_as_string(hide_password=False)  # the run's driver
    os.environ["BENCH_FLASK_DATABASE_URL"] = url
    os.environ["FLASK_DBTESTCASE_DATABASE_URL"] = url
    from flaskbench import cases

    return Cases(cases, cases.CONTENDERS[a.contender], a)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("contender")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--server-cpus", required=True)
    p.add_argument("--micro-tests", type=int, default=500)
    p.add_argument("--suite-tests", type=int, default=300)
    p.add_argument("--floor-iters", type=int, default=2000)
    a = p.parse_args()
    ARGS.data_dir = a.data_dir
    ARGS.server_cpus = {int(c) for c in a.server_cpus.split(",")}
    pin(0, {CLIENT_CPU})
    out, sys.stdout = sys.stdout, sys.stderr  # stdout is the protocol's alone
    contender = make_contender(a)
    warmed: set[str] = set()
    print("ready", file=out, flush=True)
    try:
        for line in sys.stdin:
            workload = line.strip()
            if workload == "quit":
                break
            if workload not in warmed:  # one untimed warm-up round per workload
                contender.run(workload)
                repin()  # the backends this round opened
                warmed.add(workload)
            print(json.dumps(contender.run(workload)), file=out, flush=True)
    finally:
        contender.close()


if __name__ == "__main__":
    main()
