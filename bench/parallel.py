"""``--parallel``: the whole 600-test command, serial against parallel.

    python bench/parallel.py [--tests 600] [--repeats 5]

Whole-process wall and CPU time of ``python -m flask_dbtestcase
flaskbench.e2e_tests`` (its own throwaway server; the realistic test of
bench/README.md, in classes of 30), serial, with ``--parallel 2`` and with
``--parallel auto`` (one worker per CPU), interleaved round by round after
one warm-up round. The speed-up is paired by round. On a machine where other
work holds a core, no speed-up is possible: the load average is printed
before and after. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from commands import clean_env, fmt, load_line, run_cmd  # noqa: E402

BASE = ["-m", "flask_dbtestcase", "flaskbench.e2e_tests", "--noinput"]
COMMANDS = {
    "serial": BASE,
    "parallel 2": [*BASE, "--parallel", "2"],
    "parallel auto": [*BASE, "--parallel", "auto"],
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tests", type=int, default=600)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    env = clean_env(BENCH_SUITE_TESTS=str(a.tests))
    before = load_line()
    wall: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for rnd in range(a.repeats + 1):  # round 0 warms up
        for name, args in COMMANDS.items():
            run = run_cmd(args, env)
            if "OK" not in run.stderr:
                raise SystemExit(f"{name}: the run did not pass:\n{run.stderr[-3000:]}")
            if rnd:
                wall[name].append(run.wall)
                cpu[name].append(run.cpu)
    print(
        f"--parallel, {a.tests} tests, whole command, median (min–max) of {a.repeats} "
        f"interleaved rounds; {os.cpu_count()} CPUs; {before} before, {load_line()} after\n"
    )
    print("| command | wall s | CPU s (incl. its server) | speed-up (paired) |")
    print("|---|---|---|---|")
    for name in COMMANDS:
        speedup = [s / x for s, x in zip(wall["serial"], wall[name])]
        print(f"| {name} | {fmt(wall[name])} | {fmt(cpu[name])} | {fmt(speedup)}x |")
    best = min(wall["serial"]) / min(wall["parallel 2"])
    print(
        f"\nBest serial / best parallel 2: {best:.2f}x; median CPU added by parallelism: "
        f"{statistics.median(cpu['parallel 2']) - statistics.median(cpu['serial']):+.2f} s"
    )


if __name__ == "__main__":
    main()
