"""The initdb cache: ``initdb`` runs once per PostgreSQL version and user.

The cache also remembers the version each ``postgres`` binary reported
(``.version-<digest>``, keyed by the binary's path, inode, size, mtime and
ctime), so a warm start runs no ``postgres --version``.

A cache entry is a directory holding ``data/`` (an initialised data
directory) and a ``complete`` marker. Entries only appear under their final
name by an atomic ``rename``, so a run killed half way leaves either nothing
or a complete entry; anything else found there (a half-written entry from an
older version of this package, a directory someone tampered with) is
detected by the missing marker and rebuilt. One ``initdb`` runs at a time
per entry (``flock``): parallel cold starts wait for it instead of racing.

Everything written here is private to the user (``0700`` directories,
``0600`` files), whatever the umask.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time

from ..errors import ConfigurationError
from ..variables import CACHE_DIR_ENV
from .binaries import server_version
from .directories import announce_fallback, private_dir, runtime_dir
from .processes import chown, open_private, spawn, write_private
from .serverconfig import ServerConfig

__all__ = [
    "CACHE_FORMAT",
    "DEBRIS_AGE",
    "INITDB_ARGS",
    "cache_complete",
    "cache_dir",
    "cached_server_version",
    "clear_cache_debris",
    "copy_tree",
    "entry_name",
    "initdb_cached",
    "tail",
]

#: Bumped when the cached data directory's layout or initdb options change.
CACHE_FORMAT = "1"
INITDB_ARGS = [
    "-U", "postgres", "-A", "trust", "--no-sync", "--lc-messages=C",
    "-E", "UTF8", "--locale=C", "--wal-segsize=1",
]  # fmt: skip
#: Debris (staging copies, broken entries) older than this is removed.
DEBRIS_AGE = 600.0


def cache_dir(config: ServerConfig) -> str:
    """Return the cache directory, made private on first use.

    That is ``$FLASK_DBTESTCASE_CACHE_DIR``, else ``~/.cache/flask-dbtestcase``
    (``$XDG_CACHE_HOME``). One this user cannot use (a read-only home, a
    directory left by another user's ``sudo`` run) gives way to ``cache`` in
    the runtime directory, for this run, and that is said once.

    :param config: the server configuration (its ``cache_dir``, and its
        ``runtime_dir`` for the fallback).
    """
    path = config.cache_dir
    if not path:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        path = os.path.join(xdg, "flask-dbtestcase")
    key = (path, config.runtime_dir)
    found = _cache_dirs.get(key)
    if found is None or not os.path.isdir(found):
        found = _cache_dirs[key] = _usable_cache_dir(config, path)
    return found


#: The cache directory found for each one asked for (with the runtime
#: directory setting, which decides the fallback).
_cache_dirs: dict[tuple[str, str | None], str] = {}


def _usable_cache_dir(config: ServerConfig, path: str) -> str:
    reason = private_dir(path, 0o700, ours=False)
    if reason is None:
        return path
    fallback = os.path.join(runtime_dir(config), "cache")
    fallback_reason = private_dir(fallback, 0o700)
    if fallback_reason is None:
        announce_fallback(
            f"cannot use the cache directory {path} ({reason}); caching in {fallback} "
            f"instead, which lasts until the machine restarts (set {CACHE_DIR_ENV} to a "
            "directory of this user's to keep it)."
        )
        return fallback
    raise ConfigurationError(
        f"flask-dbtestcase found no directory it can keep its cache in: {path} "
        f"({reason}), {fallback} ({fallback_reason}). Set {CACHE_DIR_ENV} to a directory "
        "this user owns and can write."
    )


def _binary_key(postgres: str) -> str:
    st = os.stat(postgres)
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


@functools.cache
def cached_server_version(bin_dir: str, cache: str) -> str:
    """Return :func:`~.binaries.server_version`, remembered in the cache directory.

    The entry is keyed by the ``postgres`` binary's real path and its stat
    (inode, size, mtime, ctime): a reinstalled or upgraded binary is asked
    again.

    :param bin_dir: a directory holding ``postgres``.
    :param cache: the cache directory (:func:`cache_dir`).
    """
    postgres = os.path.realpath(os.path.join(bin_dir, "postgres"))
    digest = hashlib.sha1(f"{CACHE_FORMAT}:{postgres}".encode()).hexdigest()[:16]
    path = os.path.join(cache, f".version-{digest}")
    try:
        key = _binary_key(postgres)
    except OSError:  # no such binary: let server_version say what it says
        return server_version(bin_dir)
    try:
        with open(path) as f:
            stored_key, version = f.read().split("\n")[:2]
        if stored_key == key and version:
            return version
    except (OSError, ValueError):
        pass
    version = server_version(bin_dir)
    if version != "unknown":
        staging = f"{path}.tmp-{os.getpid()}"
        try:
            write_private(staging, f"{key}\n{version}\n")
            os.replace(staging, path)  # atomic: a reader sees a whole entry or none
        except OSError:  # a cache that cannot be written only costs the next run 8 ms
            with contextlib.suppress(OSError):
                os.remove(staging)
    return version


def entry_name(bin_dir: str, user: pwd.struct_passwd, cache: str) -> str:
    """Return the name of the cache entry for this PostgreSQL and user.

    :param bin_dir: the directory holding ``initdb`` and ``postgres``.
    :param user: the server user.
    :param cache: the cache directory (:func:`cache_dir`).
    """
    real_bin = os.path.realpath(bin_dir)
    digest = hashlib.sha1(f"{CACHE_FORMAT}:{real_bin}".encode()).hexdigest()[:10]
    return f"initdb-{cached_server_version(bin_dir, cache)}-{digest}-{user.pw_name}"


def initdb_cached(config: ServerConfig, bin_dir: str, user: pwd.struct_passwd) -> str:
    """Return a cached, complete data directory, running initdb if needed.

    ``initdb`` runs in a fresh directory under the runtime directory, which
    the server user can reach (the cache may live under ``/root``).

    :param config: the server configuration (where the cache and the runtime
        directory are).
    :param bin_dir: the directory holding ``initdb`` and ``postgres``.
    :param user: the server user.
    """
    cache = cache_dir(config)
    name = entry_name(bin_dir, user, cache)
    entry = os.path.join(cache, name)
    data = os.path.join(entry, "data")
    if cache_complete(entry):
        return data
    # One initdb at a time (parallel workers on a cold cache wait for it);
    # the atomic rename below keeps it safe where flock does not work.
    with open_private(os.path.join(cache, f".{name}.lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
        except OSError:
            pass
        if not cache_complete(entry):
            clear_cache_debris(entry)
            _build_cache_entry(bin_dir, user, entry, runtime_dir(config))
    return data


def _build_cache_entry(bin_dir: str, user: pwd.struct_passwd, entry: str, work_parent: str) -> None:
    cache, name = os.path.split(entry)
    work = tempfile.mkdtemp(prefix=f"initdb-{os.getpid()}-", dir=work_parent)
    try:
        chown(work, user)
        target = os.path.join(work, "data")
        log_path = os.path.join(work, "initdb.log")
        with open_private(log_path) as log:
            proc = spawn(
                [os.path.join(bin_dir, "initdb"), "-D", target, *INITDB_ARGS],
                stdout=log, stderr=subprocess.STDOUT, cwd=work,
            )  # fmt: skip
            proc.wait()
        if proc.returncode != 0:
            raise ConfigurationError(
                f"PostgreSQL's initdb ({bin_dir}) failed with exit code"
                f" {proc.returncode}, so no throwaway server can be started."
                f" Its output ends with: {tail(log_path)} Check the PostgreSQL"
                " installation, or use an existing server with --database-url."
            )
        write_private(os.path.join(work, "complete"), f"{cached_server_version(bin_dir, cache)}\n")
        os.remove(log_path)
        staging = work
        if os.stat(work).st_dev != os.stat(cache).st_dev:
            staging = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=cache)
            os.rmdir(staging)
            copy_tree(work, staging)
        try:
            os.rename(staging, entry)
        except OSError:  # another process won the race: use theirs
            shutil.rmtree(staging, ignore_errors=True)
            if not cache_complete(entry):
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def clear_cache_debris(entry: str) -> None:
    """Remove a broken entry, and copies abandoned by killed runs.

    :param entry: the cache entry's directory.
    """
    if os.path.isdir(entry) and not cache_complete(entry):
        # Complete entries only appear by rename: this one is broken for good.
        trash = f"{entry}.broken-{os.getpid()}"
        try:
            os.rename(entry, trash)
        except OSError:
            pass
        shutil.rmtree(trash, ignore_errors=True)
    parent = os.path.dirname(entry)
    for name in os.listdir(parent):
        path = os.path.join(parent, name)
        if ".tmp-" in name or ".broken-" in name:  # not .lock: others hold it
            try:
                if time.time() - os.stat(path).st_mtime > DEBRIS_AGE:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                pass


def copy_tree(source: str, target: str) -> None:
    """Copy a directory with ``cp -a``: fast, and keeps the server user's ownership and modes.

    :param source: the directory to copy.
    :param target: the copy, which must not exist yet.
    """
    copy = subprocess.run(["cp", "-a", source, target], capture_output=True, text=True)
    if copy.returncode != 0:
        raise ConfigurationError(
            f"Could not copy the PostgreSQL data directory {source!r} to"
            f" {target!r} ({copy.stderr.strip()}). Check that there is free"
            " space there, or delete flask-dbtestcase's cache directory."
        )


def cache_complete(entry: str) -> bool:
    """Tell whether the cache entry holds a complete data directory.

    :param entry: the cache entry's directory.
    """
    return os.path.isfile(os.path.join(entry, "complete")) and os.path.isfile(
        os.path.join(entry, "data", "PG_VERSION")
    )


def tail(path: str, lines: int = 15) -> str:
    """Return the last lines of a log, joined on one line.

    :param path: the log file.
    :param lines: how many lines.
    """
    try:
        with open(path, errors="replace") as f:
            return " | ".join(f.read().strip().splitlines()[-lines:]) or "(empty)"
    except OSError:
        return "(no log)"
