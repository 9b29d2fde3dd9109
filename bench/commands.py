"""Timing whole commands: wall time, CPU time and peak memory of one run.

Shared by the command-level benchmarks (startup.py, parallel.py, scale.py,
endtoend.py). CPU time and peak RSS come from the kernel's accounting of
the finished process (``os.wait4``), its waited-for children included.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import subprocess
import sys
import time

from common import compile_bytecode

HERE = os.path.dirname(os.path.abspath(__file__))


@dataclasses.dataclass
class Run:
    wall: float
    cpu: float
    max_rss_mib: float
    stderr: str


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a benchmarked command: no test database handed down.

    The framework and the bench apps are compiled first (:func:`compile_bytecode`).
    """
    compile_bytecode()
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", **extra)
    for var in ("FLASK_DBTESTCASE_DATABASE_URL", "TEST_DATABASE_URL"):
        env.pop(var, None)
    return env


def run_cmd(args: list[str], env: dict[str, str], check_ok: bool = True) -> Run:
    """Run ``args`` (a Python command line: ``sys.executable`` is prepended) from bench/.

    :param args: the interpreter's arguments.
    :param env: its environment.
    :param check_ok: stop the benchmark unless it exits 0.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=HERE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if check_ok and proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{err[-4000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(wall, cpu, usage.ru_maxrss / 1024, err)


def fmt(xs: list[float], scale: float = 1.0, digits: int = 2) -> str:
    """``median (min–max)``."""
    return (
        f"{statistics.median(xs) * scale:,.{digits}f} "
        f"({min(xs) * scale:,.{digits}f}–{max(xs) * scale:,.{digits}f})"
    )


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"
