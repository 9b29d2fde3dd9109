"""Which socket directories are a throwaway server's: judged by what they are.

A throwaway server listens on a unix socket only, in ``<runtime>/srv-*/sock``
(:mod:`.server`), with a marker file naming its server directory. The
databases layer asks :func:`throwaway_data_dir` before it treats a server as
one this package started; the server that answers then proves it by a query
(:mod:`flask_dbtestcase.databases.maintenance`).
"""

from __future__ import annotations

import os
import stat
import typing as t

from .directories import runtime_dir_name
from .processes import pid_alive

if t.TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = ["MARKER", "SERVER_PORT", "is_throwaway_url", "throwaway_data_dir"]

#: The file in a server's socket directory that marks it as one of ours.
MARKER = "flask-dbtestcase-server"
#: The port of every throwaway server: the name of its socket (it has no TCP).
SERVER_PORT = 5432


def is_throwaway_url(url: str | URL) -> bool:
    """Tell whether ``url`` points at a live server this package started.

    The URL is judged by its socket directory alone: connections to it are
    also made immune to libpq's environment, and the server's identity is
    proven before anything destructive (:mod:`flask_dbtestcase.databases.maintenance`).

    :param url: a database URL.
    """
    # Imported here: SQLAlchemy is slow to import, and the server layer does
    # not need it otherwise.
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url) if isinstance(url, str) else url
        host = parsed.query.get("host") or parsed.host or ""
    except Exception:
        return False
    if isinstance(host, tuple):
        host = host[0] if len(host) == 1 else ""
    return throwaway_data_dir(host) is not None


def throwaway_data_dir(host: str) -> str | None:
    """Return the data directory of the live throwaway server whose socket directory is ``host``.

    ``None`` when ``host`` is not the socket directory of a running server
    this package started for this user. The directory is judged by what it
    is, not by the settings: its real path is ``<runtime>/srv-*/sock``, where
    ``<runtime>`` is a directory of this user's named as its runtime
    directories are, the marker in it names its server directory, and the
    postmaster in ``<base>/data/postmaster.pid`` is alive. (What the answer
    allows is bounded: the server that answers must also prove its identity
    before anything destructive, :mod:`flask_dbtestcase.databases.maintenance`.)

    :param host: a connection's ``host``: a name, an address or a socket directory.
    """
    if not host.startswith("/"):
        return None
    sock = os.path.realpath(host)
    base = os.path.dirname(sock)
    runtime = os.path.dirname(base)
    if (
        os.path.basename(sock) != "sock"
        or not os.path.basename(base).startswith("srv-")
        or os.path.basename(runtime) != runtime_dir_name()
    ):
        return None
    data = os.path.join(base, "data")
    try:
        st = os.lstat(runtime)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            return None
        with open(os.path.join(sock, MARKER)) as f:
            if f.read().strip() != base:
                return None
        with open(os.path.join(data, "postmaster.pid")) as f:
            return data if pid_alive(int(f.readline())) else None
    except (OSError, ValueError):
        return None
