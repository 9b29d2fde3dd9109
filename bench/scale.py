"""Scale: 10,000 tests in 1,000 classes against the 300-test suite.

    python bench/scale.py [--tests 10000] [--per-class 10] [--repeats 3]

One process, one throwaway server of its own (client pinned to CPU 0,
server to CPU 1, as bench/README.md's ``split`` placement). It runs the
realistic FlaskDBTestCase suite (bench/README.md, workload (c)) as unittest
runs it: 300 tests in classes of 30, then ``--tests`` tests in classes of
``--per-class``, and reports:

- the time per test of each (median of ``--repeats`` rounds, after a
  warm-up round): the large suite should stay within 10% of the small one;
- this process's RSS after every 1,000 tests of the large suite (it should
  stay flat: finished classes must not keep their state);
- the server's backends on each database after the large suite (one per
  database: every class shares the pinned connection).

Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from common import bench_database, check_result, median_range, pin_server  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class _RSSResult(unittest.TestResult):
    """Samples the RSS, and the time per test since the last sample, every ``every`` tests."""

    def __init__(self, every: int) -> None:
        super().__init__()
        self.every = every
        self.samples: list[tuple[int, float]] = []
        self.chunk_ms: list[float] = []
        self._last = time.perf_counter()

    def stopTest(self, test: unittest.TestCase) -> None:
        super().stopTest(test)
        if self.testsRun % self.every == 0:
            now = time.perf_counter()
            self.chunk_ms.append((now - self._last) * 1e3 / self.every)
            self._last = now
            self.samples.append((self.testsRun, rss_mib()))


def run(classes: list[type], every: int = 1000) -> tuple[float, _RSSResult]:
    loader = unittest.TestLoader()
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in classes)
    n = suite.countTestCases()
    result = _RSSResult(every)
    gc.collect()
    start = time.perf_counter()
    suite(result)
    elapsed = time.perf_counter() - start
    check_result(result, "scale")
    return elapsed / n, result


def backends(server_url: str) -> list[tuple[str, int]]:
    import psycopg2
    from sqlalchemy.engine import make_url

    u = make_url(server_url)
    conn = psycopg2.connect(host=u.query["host"], dbname="postgres", user=u.username)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT datname, count(*) FROM pg_stat_activity WHERE datname IS NOT NULL "
                "AND pid <> pg_backend_pid() GROUP BY datname ORDER BY datname"
            )
            return list(cur.fetchall())
    finally:
        conn.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tests", type=int, default=10000)
    p.add_argument("--per-class", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    with bench_database("test_scale") as (server, url):
        from flaskbench.cases import FDT, make_classes

        small = make_classes(FDT, "suite", 300, 30, prefix="Small")
        large = make_classes(FDT, "suite", a.tests, a.per_class, prefix="Large")
        run(small)  # warm-up: the app, the schema, the statement caches
        pin_server(server.data_dir, {1})
        per_small: list[float] = []
        per_large: list[float] = []
        rss_runs: list[list[tuple[int, float]]] = []
        chunks: list[list[float]] = []
        for _ in range(a.repeats):
            per_small.append(run(small)[0])
            per_test, result = run(large)
            per_large.append(per_test)
            rss_runs.append(result.samples)
            chunks.append(result.chunk_ms)
        found = backends(url)
    ratio = [big / sm for big, sm in zip(per_large, per_small)]
    n_classes = -(-a.tests // a.per_class)
    print(
        f"Scale: {a.tests:,} tests in {n_classes:,} classes against 300 tests in 10 "
        f"classes (FlaskDBTestCase, workload (c)), {a.repeats} interleaved rounds\n"
    )
    print("| suite | ms per test, median (min–max) |")
    print("|---|---|")
    print(f"| 300 tests, 10 classes | {fmt_ms(per_small)} |")
    print(f"| {a.tests:,} tests, {n_classes:,} classes | {fmt_ms(per_large)} |")
    print(
        f"| ratio (paired by round) | {statistics.median(ratio):.3f}x "
        f"({min(ratio):.3f}–{max(ratio):.3f}) |"
    )
    last = rss_runs[-1]
    print(
        f"\nRSS of the process during the last {a.tests:,}-test round, MiB: "
        + ", ".join(f"{n:,}: {mib:.1f}" for n, mib in last)
    )
    by_chunk = [statistics.median(c) for c in zip(*chunks)]
    print(
        f"ms per test, each 1,000 tests of the {a.tests:,}-test rounds (median over rounds): "
        + ", ".join(f"{ms:.2f}" for ms in by_chunk)
    )
    first_round = rss_runs[0]
    print(
        f"RSS growth over the rounds: {first_round[0][1]:.1f} MiB after the first 1,000 "
        f"tests of round 1, {last[-1][1]:.1f} MiB at the end of round {a.repeats}"
    )
    print(
        "Backends per database after the last round: "
        + ", ".join(f"{name}: {count}" for name, count in found)
    )


def fmt_ms(xs: list[float]) -> str:
    return median_range(xs, 1e3, ".2f")


if __name__ == "__main__":
    main()
