"""``--keepdb`` on the throwaway server: the data directory survives the run.

One persistent data directory per PostgreSQL installation, server user and
project (the run's top-level directory), so a second run skips copying a
fresh data directory and creating the test database, and the test classes
find their tables (they rebuild them when the models changed). It lives in
the cache directory (``$FLASK_DBTESTCASE_CACHE_DIR``), or, when the server
user cannot reach that (running as root with the cache under ``/root``), in
the runtime directory beside the servers.

A run holds an exclusive ``flock`` on ``<dir>.lock`` while its server uses
the directory: a second, concurrent ``--keepdb`` run of the same project
does not wait for it but gets a fresh throwaway server. The server still
listens only on a socket in its own private run directory, whose ``data``
is a symbolic link to the kept directory (the reaper and the clean-up
remove the link, never what it points to). It is stopped with a fast
shutdown (SIGINT), so the data stays consistent; a data directory that
does not start any more (a crash with fsync off, a damaged copy) is
replaced by a fresh copy of the initdb cache.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pwd
import shutil
import typing as t

from .directories import runtime_dir
from .initdb_cache import CACHE_FORMAT, cache_dir, cached_server_version, copy_tree
from .processes import chown, open_private, traversable, write_private
from .serverconfig import ServerConfig

__all__ = ["KeptData", "kept_dir_path"]


def kept_dir_path(config: ServerConfig, bin_dir: str, user: pwd.struct_passwd, project: str) -> str:
    """Return where this project's kept data directory lives (see the module doc).

    :param config: the server configuration (the cache directory, and the
        runtime directory, used when the server user cannot reach the cache).
    :param bin_dir: the directory holding ``initdb`` and ``postgres``.
    :param user: the server user.
    :param project: the project's top-level directory.
    """
    project = os.path.realpath(project)
    root = cache_dir(config)
    key = f"{CACHE_FORMAT}:{os.path.realpath(bin_dir)}:{user.pw_name}:{project}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    name = f"keep-{cached_server_version(bin_dir, root)}-{digest}"
    if os.geteuid() != 0 or traversable(root, user):
        return os.path.join(root, name)
    return os.path.join(runtime_dir(config), name)


class KeptData:
    """A project's kept data directory, locked for this run until :meth:`release`.

    :param path: the kept directory (its data directory is ``data`` in it).
    :param lock: the open ``<path>.lock`` file this run holds the ``flock`` of.
    """

    def __init__(self, path: str, lock: t.IO[t.Any]) -> None:
        self.path = path
        self.data_dir = os.path.join(path, "data")
        self._lock: t.IO[t.Any] | None = lock

    @classmethod
    def acquire(
        cls, config: ServerConfig, bin_dir: str, user: pwd.struct_passwd, project: str, cached: str
    ) -> KeptData | None:
        """Lock and return the kept directory; None when another run holds it.

        :param config: the server configuration (see :func:`kept_dir_path`).
        :param bin_dir: the directory holding ``initdb`` and ``postgres``.
        :param user: the server user.
        :param project: the project's top-level directory.
        :param cached: the initdb cache's data directory, copied the first time.
        """
        path = kept_dir_path(config, bin_dir, user, project)
        lock = open_private(f"{path}.lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            return None
        kept = cls(path, lock)
        try:
            if not os.path.isfile(os.path.join(path, "complete")):
                kept.reset(cached, user, project)
        except BaseException:
            kept.release()
            raise
        return kept

    def reset(self, cached: str, user: pwd.struct_passwd, project: str) -> None:
        """Make the data directory afresh: a copy of the initdb cache.

        :param cached: the initdb cache's data directory.
        :param user: the server user, who owns the copy.
        :param project: the project's top-level directory, recorded beside it.
        """
        complete = os.path.join(self.path, "complete")
        if os.path.exists(complete):
            os.remove(complete)
        shutil.rmtree(self.path, ignore_errors=True)
        os.mkdir(self.path, 0o700)
        write_private(os.path.join(self.path, "project"), os.path.realpath(project) + "\n")
        chown(self.path, user)
        copy_tree(cached, self.data_dir)
        write_private(complete, "")

    def release(self) -> None:
        """Unlock (the server must be stopped by now). Safe to call twice."""
        if self._lock is not None:
            self._lock.close()  # closing the file drops the flock
            self._lock = None
