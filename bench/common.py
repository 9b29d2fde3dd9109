"""Shared helpers: CPU pinning, the bench server's processes, statistics."""

from __future__ import annotations

import os
import statistics
import typing as t

CLIENT_CPU = 0
#: placement name -> (client CPUs, server CPUs)
PLACEMENTS = {
    "split": ({0}, {1}),  # client on CPU 0, server on CPU 1
    "shared": ({0}, {0}),  # both on CPU 0
}


def ncpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def server_pids(data_dir: str) -> list[int]:
    """The postmaster (first line of postmaster.pid) and all its children."""
    with open(os.path.join(data_dir, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    pids = [postmaster]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            pids.append(int(entry))
    return pids


def pin(pid: int, cpus: t.Iterable[int]) -> None:
    try:
        os.sched_setaffinity(pid, set(cpus))
    except (ProcessLookupError, PermissionError):
        pass


def pin_server(data_dir: str, cpus: t.Iterable[int]) -> None:
    """Pin the postmaster (new backends inherit it) and every running child."""
    for pid in server_pids(data_dir):
        pin(pid, cpus)


def summarize(samples: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "n": len(samples),
    }
