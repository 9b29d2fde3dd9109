"""Why a PostgreSQL server stopped, from its log and its exit status."""

from __future__ import annotations

import re
import signal

from .initdb_cache import tail

__all__ = ["stop_reason"]


def stop_reason(log_path: str, status: int | None) -> str:
    """Describe a server's unexpected stop from its log and its exit status.

    Returns a clause, such as "its log says 'received fast shutdown request'"
    or "it was killed by SIGKILL, with nothing in its log".

    :param log_path: the server's log.
    :param status: its exit status (``-N``: killed by signal N), ``None`` if unknown.
    """
    said = None
    try:
        with open(log_path, errors="replace") as f:
            for line in f:
                if "shutdown request" in line or "terminated by signal" in line:
                    said = line.strip()
    except OSError:
        pass
    if said is not None:
        # "2026-12-01 13:13:05.869 UTC [16823] LOG:  received fast shutdown request"
        said = re.sub(r"^.*?\b(?:LOG|FATAL|PANIC):\s+", "", said)
        return f"its log says {said!r}"
    if status is not None and status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return f"it was killed by {name}, with nothing in its log"
    if status is not None:
        return f"it exited with status {status}; the end of its log: {tail(log_path, 5)}"
    return f"it stopped answering; the end of its log: {tail(log_path, 5)}"
