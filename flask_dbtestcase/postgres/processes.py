"""PostgreSQL's processes and files: who runs them, how they die.

- :func:`spawn` starts a PostgreSQL program as an unprivileged user when we
  are root, in its own session, with a private umask, and tied to us by
  ``PR_SET_PDEATHSIG``;
- :func:`kill_and_wait` stops a process we may not be the parent of;
- :func:`user_can` and :func:`traversable` tell what the server user can reach.

Where the servers live is :mod:`.directories`.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import select
import signal
import subprocess
import sys
import threading
import time
import typing as t

from ..errors import ConfigurationError

__all__ = [
    "STOP_TIMEOUT",
    "KeeperThread",
    "chown",
    "kill_and_wait",
    "open_private",
    "pid_alive",
    "process_start_time",
    "server_user",
    "spawn",
    "traversable",
    "user_can",
    "write_private",
]

STOP_TIMEOUT = 10.0
_PR_SET_PDEATHSIG = 1


# -- the user ------------------------------------------------------------------


def server_user() -> pwd.struct_passwd:
    """Return the user PostgreSQL runs as: ourselves, or an unprivileged one as root."""
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
    """Give ``path`` to ``user`` when we are root; do nothing otherwise.

    :param path: a file or directory the server must own.
    :param user: the server user (:func:`server_user`).
    """
    if os.geteuid() == 0:
        os.chown(path, user.pw_uid, user.pw_gid)


def write_private(path: str, text: str) -> None:
    """Write a file readable by its owner only, whatever the umask.

    :param path: the file, created or truncated.
    :param text: its whole content.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


def open_private(path: str, mode: str = "wb") -> t.IO[t.Any]:
    """Open (create, truncate) a file readable by its owner only.

    :param path: the file.
    :param mode: the mode of the returned file object (written to only).
    """
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
    """Return when process ``pid`` started, in clock ticks since boot ("" if unknown).

    :param pid: the process.
    """
    fields = _proc_stat(pid)
    return fields[19] if len(fields) > 19 else ""


def pid_alive(pid: int, start_time: str = "") -> bool:
    """Tell whether ``pid`` runs and is the process that started at ``start_time``.

    A zombie does not run: it is a dead server awaiting its parent's ``wait``.

    :param pid: the process.
    :param start_time: its :func:`process_start_time` ("": not checked).
    """
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


def _preexec(user: pwd.struct_passwd | None, parent: int, pdeathsig: bool) -> t.Callable[[], None]:
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


class KeeperThread(threading.Thread):
    """A thread that outlives the programs it spawns (until the process ends).

    The death signal fires when the spawning *thread* exits; programs spawned
    by the main thread or by a keeper thread get it (see
    :class:`~.background.Background`).
    """


def spawn(args: list[str], **kwargs: t.Any) -> subprocess.Popen[bytes]:
    """Start a PostgreSQL program as the server user, dying with us.

    :param args: the program and its arguments.
    :param kwargs: more arguments for :class:`subprocess.Popen`.
    """
    user = server_user() if os.geteuid() == 0 else None
    # The death signal fires when the spawning *thread* exits: only rely on
    # it from the main thread or a keeper thread; reap_stale() covers the rest.
    current = threading.current_thread()
    pdeathsig = current is threading.main_thread() or isinstance(current, KeeperThread)
    preexec = _preexec(user, os.getpid(), pdeathsig)
    return subprocess.Popen(args, preexec_fn=preexec, close_fds=True, **kwargs)


def kill_and_wait(pid: int, timeout: float = STOP_TIMEOUT, sig: int = signal.SIGQUIT) -> None:
    """Signal a process we may not be the parent of, then SIGKILL it if it lingers.

    :param pid: the process.
    :param timeout: how long to wait for it to exit before SIGKILL, in seconds.
    :param sig: SIGQUIT (PostgreSQL's immediate shutdown) or SIGINT (its fast
        shutdown).
    """
    for signum, wait in ((sig, timeout), (signal.SIGKILL, 2.0)):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            return
        if _exited_within(pid, wait):
            return


def _exited_within(pid: int, wait: float) -> bool:
    """Wait up to ``wait`` seconds for ``pid`` to exit; reap it if it is our child.

    On Linux a pidfd wakes us the moment it exits; elsewhere it is polled
    every 5 ms.
    """
    try:
        pidfd = os.pidfd_open(pid)  # Linux 5.3+; AttributeError elsewhere
    except ProcessLookupError:  # gone, and reaped by its parent
        return True
    except (AttributeError, OSError):  # no pidfd here: poll
        return _polled_exit(pid, wait)
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        exited = bool(poller.poll(wait * 1000))
    finally:
        os.close(pidfd)
    if exited:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child: its parent reaps it
            pass
    return exited


def _polled_exit(pid: int, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return True
        except ChildProcessError:
            if not pid_alive(pid):
                return True
        time.sleep(0.005)
    return False


def user_can(st: os.stat_result, user: pwd.struct_passwd, bits: int) -> bool:
    """Tell whether ``user`` has the permission ``bits`` on a file.

    Only its primary group counts, as the server runs with no other.

    :param st: the file's :func:`os.stat`.
    :param user: the server user.
    :param bits: read, write, execute as ``0o4``, ``0o2``, ``0o1`` (or a sum).
    """
    if st.st_uid == user.pw_uid:
        return st.st_mode & (bits << 6) == bits << 6
    if st.st_gid == user.pw_gid:
        return st.st_mode & (bits << 3) == bits << 3
    return st.st_mode & bits == bits


def traversable(path: str, user: pwd.struct_passwd) -> bool:
    """Tell whether ``user`` can get through every directory from / down to ``path``.

    :param path: a file or directory.
    :param user: the server user.
    """
    path = os.path.realpath(path)
    while True:
        if not user_can(os.stat(path), user, 0o1):
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent
