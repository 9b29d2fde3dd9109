"""Per-class cost: what a test class costs beyond its tests.

    python bench/perclass.py [--classes 300] [--repeats 9] [--profile]

One process, on a throwaway server of its own (client pinned to CPU 0,
server to CPU 1). For each workload (an empty test; a one-query test) it
times, interleaved round by round:

- ``FlaskDBTestCase``: N classes of one test, and one class of N tests;
- plain ``unittest.TestCase``: the same two shapes (unittest's own cost of
  a class: the suite's class bookkeeping, ``setUpClass``/``tearDownClass``).

The framework's own overhead per class is
``(FDT N×1 − FDT 1×N) / (N−1) − (unittest N×1 − unittest 1×N) / (N−1)``:
the set-up and tear-down of the class (the app lookup, pinning, the class
transaction, the schema bookkeeping, ``databases``, the config snapshot,
the app context) without the user's factory, which runs once per run.
With ``--profile`` it also prints where FlaskDBTestCase's class time goes.
Nothing here asserts a timing: it prints medians (min–max).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from common import bench_database, check_result, median_range, pin_server  # noqa: E402


def t_empty(self) -> None:
    pass


def t_onequery(self) -> None:
    import sqlalchemy as sa

    from flaskbench import Author, db

    db.session.execute(sa.select(Author.id).where(Author.id == 1)).first()


def t_onequery_plain(self) -> None:
    self.conn.exec_driver_sql("SELECT 1")


def make(base: type, workload, n_classes: int, per_class: int, tag: str) -> list[type]:
    classes = []
    for c in range(n_classes):
        attrs = {f"test_{i:04d}": workload for i in range(per_class)}
        attrs["__module__"] = __name__
        classes.append(type(f"{tag}{c:04d}", (base,), attrs))
    return classes


def run(classes: list[type]) -> tuple[float, float]:
    """Run the classes; return the wall time and this process's CPU time, in seconds."""
    loader = unittest.TestLoader()
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in classes)
    result = unittest.TestResult()
    gc.collect()
    start, cpu_start = time.perf_counter(), time.process_time()
    suite(result)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    check_result(result, "perclass")
    return elapsed, cpu


def per_class_own(s: dict[str, list[float]], n: int) -> list[float]:
    """The framework's own cost per class, by round: FDT's per-class cost minus unittest's."""
    fdt = [(m - o) / (n - 1) for m, o in zip(s["fdt_many"], s["fdt_one"])]
    tc = [(m - o) / (n - 1) for m, o in zip(s["tc_many"], s["tc_one"])]
    return [f - c for f, c in zip(fdt, tc)]


def fmt(xs: list[float]) -> str:
    return median_range(xs, 1e6, ",.0f")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--classes", type=int, default=300)
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--profile-workload", choices=("empty", "onequery"), default="empty")
    a = p.parse_args()
    with bench_database("test_perclass") as (server, url):
        import sqlalchemy as sa

        from flaskbench.cases import FDT

        plain_engine = sa.create_engine(url)

        class Plain(unittest.TestCase):
            @classmethod
            def setUpClass(cls) -> None:
                cls.conn = plain_engine.connect()

            @classmethod
            def tearDownClass(cls) -> None:
                cls.conn.close()

        n = a.classes
        shapes = {}
        for wname, fdt_fn, plain_fn in (
            ("empty", t_empty, t_empty),
            ("onequery", t_onequery, t_onequery_plain),
        ):
            shapes[wname] = {
                "fdt_many": make(FDT, fdt_fn, n, 1, f"F{wname}M"),
                "fdt_one": make(FDT, fdt_fn, 1, n, f"F{wname}O"),
                "tc_many": make(Plain, plain_fn, n, 1, f"P{wname}M"),
                "tc_one": make(Plain, plain_fn, 1, n, f"P{wname}O"),
            }
        samples: dict[str, dict[str, list[float]]] = {
            w: {k: [] for k in s} for w, s in shapes.items()
        }
        cpu: dict[str, dict[str, list[float]]] = {w: {k: [] for k in s} for w, s in shapes.items()}
        for rnd in range(a.repeats + 1):  # round 0 warms up
            for w, s in shapes.items():
                for key, classes in s.items():
                    elapsed, used = run(classes)
                    if rnd:
                        samples[w][key].append(elapsed)
                        cpu[w][key].append(used)
            if rnd == 0:
                pin_server(server.data_dir, {1})
        print(
            f"Per-class cost, {n} classes of one test against one class of {n} tests, "
            f"median (min–max) of {a.repeats} rounds, µs per class (client CPU 0, server CPU 1)\n"
        )
        print(
            "| workload | FlaskDBTestCase | plain unittest.TestCase | framework's own "
            "| framework's own, this process's CPU |"
        )
        print("|---|---|---|---|---|")
        for w, s in samples.items():
            own_cpu = per_class_own(cpu[w], n)
            fdt = [(m - o) / (n - 1) for m, o in zip(s["fdt_many"], s["fdt_one"])]
            tc = [(m - o) / (n - 1) for m, o in zip(s["tc_many"], s["tc_one"])]
            own = per_class_own(s, n)
            print(f"| {w} test | {fmt(fdt)} | {fmt(tc)} | {fmt(own)} | {fmt(own_cpu)} |")
        print(
            "\n(CPU time is not inflated by time the host steals from this machine; "
            "it leaves out the round trips' waits, which the empty test has none of.)"
        )
        if a.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            run(shapes[a.profile_workload]["fdt_many"])
            profiler.disable()
            print(f"\nProfile of {n} FlaskDBTestCase classes of one {a.profile_workload} test:\n")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            profiler.dump_stats(os.environ.get("PERCLASS_PROF", os.devnull))
        plain_engine.dispose()


if __name__ == "__main__":
    main()
