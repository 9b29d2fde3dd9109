"""Where the throwaway servers live: this user's runtime directory, and
directories of this user's in general.

- :func:`runtime_dir` is this user's directory of running servers (one
  subdirectory per server, ``srv-<pid>-*``), in RAM when it can be;
- :func:`private_dir` makes a directory this user's, or says why it cannot be;
- :func:`announce_fallback` says, once, that one directory gave way to another.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import stat
import sys
import tempfile

from ..errors import ConfigurationError
from ..variables import RUNTIME_DIR_ENV
from .serverconfig import ServerConfig

__all__ = [
    "announce_fallback",
    "private_dir",
    "runtime_dir",
    "runtime_dir_name",
    "runtime_paths",
    "shm_usable",
]


def runtime_dir_name() -> str:
    """Return the name of this user's runtime directory, whatever its parent."""
    return f"flask-dbtestcase-{os.geteuid()}"


def runtime_paths(config: ServerConfig) -> list[str]:
    """Return where server directories may live, in order of preference.

    RAM (``/dev/shm``) first, then the temp dir, ``/tmp`` and ``/var/tmp``.
    ``FLASK_DBTESTCASE_RUNTIME_DIR`` names the parent directory to use first.

    :param config: the server configuration (its ``runtime_dir``).
    """
    name = runtime_dir_name()
    parent = config.runtime_dir
    base = tempfile.gettempdir()
    if len(base) > 40:  # unix socket paths are limited to ~100 bytes
        base = "/tmp"
    parents = [parent] if parent else []
    parents += ["/dev/shm", base, "/tmp", "/var/tmp"]
    return list(dict.fromkeys(os.path.join(p, name) for p in parents))


def shm_usable() -> bool:
    """Tell whether /dev/shm is writable and has room for a server (1 GiB free)."""
    # tmpfs makes the copy ~20x faster than a disk, but Docker's default
    # /dev/shm is 64 MB, which PostgreSQL itself needs: demand room.
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return False
    return st.f_bavail * st.f_frsize >= 1 << 30 and os.access("/dev/shm", os.W_OK)


def private_dir(path: str, mode: int, ours: bool = True) -> str | None:
    """Make ``path`` a directory of this user's (if it is not one); say why it cannot be.

    Returns ``None`` when ``path`` is a directory owned by this user that it
    can write; else the reason, in a few words. A directory that is ``ours``
    (named by this package, such as the runtime directory) must not be a
    link, and gets ``mode`` whatever it had; another (a cache directory the
    user chose, maybe a link to another disk) gets ``mode`` only when it is
    made here, with its missing parents.

    :param path: the directory.
    :param mode: its permissions.
    :param ours: it is the package's own directory, not one the user chose.
    """
    if not os.path.isabs(path):
        return "not an absolute path (no home directory?)"
    try:
        made = False
        if not ours and not os.path.isdir(path):
            os.makedirs(path, mode)
            made = True
        elif ours:
            with contextlib.suppress(FileExistsError):
                os.mkdir(path, mode)
        st = os.lstat(path) if ours else os.stat(path)
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            return "not a directory"
        if st.st_uid != os.geteuid():
            owner = _user_name(st.st_uid)
            return f"owned by {owner}, not by this user"
        if ours or made:
            os.chmod(path, mode)  # makedirs' mode is subject to the umask
    except OSError as exc:
        return exc.strerror or str(exc)
    if not os.access(path, os.W_OK | os.X_OK):
        return "not writable"
    return None


def _user_name(uid: int) -> str:
    try:
        return f"user {pwd.getpwuid(uid).pw_name!r}"
    except KeyError:
        return f"uid {uid}"


#: The fallbacks already announced in this process.
_announced: set[str] = set()


def announce_fallback(message: str) -> None:
    """Say, once per process, that a directory could not be used and which one is used instead.

    :param message: one line, without the package's prefix.
    """
    if message not in _announced:
        _announced.add(message)
        sys.stderr.write(f"flask-dbtestcase: {message}\n")


def runtime_dir(config: ServerConfig) -> str:
    """Return this user's directory holding one subdirectory per running server.

    It is made on first use, private to the user: the first of
    :func:`runtime_paths` that is (or can be made) a directory of this user's;
    using another than the first says so, once.

    :param config: the server configuration (its ``runtime_dir``).
    """
    paths = runtime_paths(config)
    mode = 0o711 if os.geteuid() == 0 else 0o700
    problems: list[str] = []
    for path in paths:
        if path.startswith("/dev/shm/") and not shm_usable():
            continue
        reason = private_dir(path, mode)
        if reason is None:
            if problems:
                announce_fallback(
                    f"cannot use {'; '.join(problems)}; the throwaway servers go in {path} "
                    f"instead (set {RUNTIME_DIR_ENV} to choose the directory)."
                )
            return path
        problems.append(f"{path} ({reason})")
    raise ConfigurationError(
        "flask-dbtestcase found no directory where it can run the throwaway PostgreSQL "
        f"server: {'; '.join(problems)}. Set {RUNTIME_DIR_ENV} to a directory this user "
        "owns and can write (it needs a short path: a unix socket goes in it), or use an "
        "existing server with --database-url."
    )
