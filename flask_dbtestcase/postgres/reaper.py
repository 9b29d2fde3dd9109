"""The reaper: what killed runs left behind is stopped and removed.

Every server directory (``srv-<pid>-*``) and initdb work directory
(``initdb-<pid>-*``) in the runtime directories records its owner's pid and
start time; one whose owner is gone has its postmaster stopped (a left
running one: started off the main thread, or where there is no death signal)
and is removed.
"""

from __future__ import annotations

import os
import re
import shutil

from .directories import runtime_dir, runtime_paths
from .processes import kill_and_wait, pid_alive
from .serverconfig import ServerConfig

__all__ = ["reap_stale"]


def reap_stale(config: ServerConfig) -> int:
    """Stop the servers and remove the directories left by killed runs.

    Returns how many directories were removed.

    :param config: the server configuration (where the runtime directories are).
    """
    reaped = 0
    runtime_dir(config)  # fails loudly on a runtime dir that is not ours
    roots = [
        root
        for root in runtime_paths(config)
        if os.path.isdir(root) and not os.path.islink(root) and os.stat(root).st_uid == os.geteuid()
    ]
    for parent, name in [(root, name) for root in roots for name in os.listdir(root)]:
        match = re.match(r"(?:srv|initdb)-(\d+)-", name)
        if not match:
            continue
        path = os.path.join(parent, name)
        pid, start_time = int(match.group(1)), ""
        try:
            with open(os.path.join(path, "owner")) as f:
                fields = f.read().split()
            pid, start_time = int(fields[0]), (fields[1:] or [""])[0]
        except (OSError, ValueError, IndexError):
            pass
        if pid_alive(pid, start_time):
            continue
        _kill_postmaster(path)
        shutil.rmtree(path, ignore_errors=True)
        reaped += 1
    return reaped


def _kill_postmaster(server_dir: str) -> None:
    try:
        with open(os.path.join(server_dir, "data", "postmaster.pid")) as f:
            pid = int(f.readline())
    except (OSError, ValueError):
        return
    try:  # a recycled pid must not be killed: check it runs on our data dir
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if server_dir.encode() not in f.read():
                return
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return  # Linux and the process is gone
    except OSError:
        pass
    kill_and_wait(pid)
