"""One contender, every workload, in one process pinned to CPU 0.

    python bench/worker.py CONTENDER --data-dir D --url URL --server-cpus 1 \
        --repeats R --micro-tests N --suite-tests M --floor-iters K

Prints one JSON object: {workload: [per-test seconds, one per repeat]}.
The test database named by --url exists and is empty; the driver drops it.
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

from common import CLIENT_CPU, pin, pin_server  # noqa: E402


class _Args:
    data_dir: str
    server_cpus: set[int]


ARGS = _Args()


def repin() -> None:
    """Pin every server process (the backends opened so far, and the postmaster)."""
    pin_server(ARGS.data_dir, ARGS.server_cpus)


def _check(result: unittest.TestResult, what: str) -> None:
    if result.errors or result.failures or not result.wasSuccessful():
        for test, text in (result.errors + result.failures)[:3]:
            sys.stderr.write(f"{what}: {test}\n{text}\n")
        raise SystemExit(f"{what}: the benchmark's own tests failed")


def time_micro(classes, repeats: int) -> list[float]:
    """Per-test time of one class's tests, class set-up and tear-down excluded."""
    (cls,) = classes
    loader = unittest.TestLoader()
    samples = []
    for rep in range(repeats + 1):  # the first round is the warm-up
        tests = list(loader.loadTestsFromTestCase(cls))
        result = unittest.TestResult()
        cls.setUpClass()
        try:
            if rep == 0:
                repin()
            gc.collect()
            start = time.perf_counter()
            for test in tests:
                test(result)
            elapsed = time.perf_counter() - start
        finally:
            cls.tearDownClass()
            cls.doClassCleanups()
        _check(result, cls.__name__)
        if rep:
            samples.append(elapsed / len(tests))
    return samples


def time_suite(classes, repeats: int) -> list[float]:
    """Per-test time of the whole suite run as unittest runs it (class fixtures included)."""
    loader = unittest.TestLoader()
    samples = []
    for rep in range(repeats + 1):
        suite = unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in classes)
        n = suite.countTestCases()
        result = unittest.TestResult()
        gc.collect()
        start = time.perf_counter()
        suite(result)
        elapsed = time.perf_counter() - start
        _check(result, "suite")
        if rep == 0:
            repin()
        else:
            samples.append(elapsed / n)
    return samples


def run_floor(url: str, iters: int, repeats: int) -> dict[str, list[float]]:
    import psycopg2
    from flask_dbtestcase.database import _connect_args, make_url

    u = make_url(url)
    conn = psycopg2.connect(**_connect_args(u, u.database))
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT pg_backend_pid()")
    pin(cur.fetchone()[0], ARGS.server_cpus)
    repin()

    def loop(stmts, n):
        gc.collect()
        start = time.perf_counter()
        for _ in range(n):
            for s in stmts:
                cur.execute(s)
        return (time.perf_counter() - start) / n

    out: dict[str, list[float]] = {"rt": [], "savepoint": [], "begin": []}
    cur.execute("BEGIN")
    for rep in range(repeats + 1):
        sp = loop(("SAVEPOINT s", "ROLLBACK TO SAVEPOINT s"), iters)
        rt = loop(("SELECT 1",), iters)
        if rep:
            out["savepoint"].append(sp)
            out["rt"].append(rt)
    cur.execute("ROLLBACK")
    for rep in range(repeats + 1):
        b = loop(("BEGIN", "ROLLBACK"), iters)
        if rep:
            out["begin"].append(b)
    conn.close()
    return out


def run_flask(contender: str, a) -> dict[str, list[float]]:
    os.environ["BENCH_FLASK_DATABASE_URL"] = a.url
    os.environ["FLASK_DBTESTCASE_DATABASE_URL"] = a.url
    from flaskbench import cases

    base = cases.CONTENDERS[contender]
    out = {}
    for workload in ("empty", "onequery"):
        if workload in a.workloads:
            classes = cases.make_classes(base, workload, a.micro_tests, a.micro_tests)
            out[workload] = time_micro(classes, a.repeats)
    if "suite" in a.workloads:
        classes = cases.make_classes(base, "suite", a.suite_tests, 30)
        out["suite"] = time_suite(classes, a.suite_repeats)
    return out


def run_django(a) -> dict[str, list[float]]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djbench.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.runner import DiscoverRunner

    from djbench import cases

    runner = DiscoverRunner(verbosity=0, interactive=False)
    runner.setup_test_environment()
    old = runner.setup_databases()
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pin(cur.fetchone()[0], ARGS.server_cpus)
        out = {}
        for workload in ("empty", "onequery"):
            if workload in a.workloads:
                classes = cases.make_classes(cases.DjangoTC, workload, a.micro_tests, a.micro_tests)
                out[workload] = time_micro(classes, a.repeats)
        if "suite" in a.workloads:
            classes = cases.make_classes(cases.DjangoTC, "suite", a.suite_tests, 30)
            out["suite"] = time_suite(classes, a.suite_repeats)
    finally:
        connection.close()
        runner.teardown_databases(old)
        runner.teardown_test_environment()
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("contender")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--server-cpus", required=True)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--suite-repeats", type=int, default=3)
    p.add_argument("--micro-tests", type=int, default=500)
    p.add_argument("--suite-tests", type=int, default=300)
    p.add_argument("--floor-iters", type=int, default=2000)
    p.add_argument("--workloads", default="empty,onequery,suite")
    a = p.parse_args()
    a.workloads = set(a.workloads.split(","))
    ARGS.data_dir = a.data_dir
    ARGS.server_cpus = {int(c) for c in a.server_cpus.split(",")}
    pin(0, {CLIENT_CPU})
    if a.contender == "raw":
        out = run_floor(a.url, a.floor_iters, a.repeats)
    elif a.contender == "django":
        out = run_django(a)
    else:
        out = run_flask(a.contender, a)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
