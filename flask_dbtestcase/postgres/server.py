"""A throwaway PostgreSQL server: private, fast to start, never left behind.

Built on :mod:`testing.postgresql` (:mod:`.postmaster`), with what a test run
needs on top:

- no TCP at all: a unix socket in a private ``0700`` directory, so parallel
  runs never fight over a port;
- ``initdb`` runs once and its result is cached across runs
  (:mod:`.initdb_cache`); each server copies the cached data directory
  (``cp -a``) and starts in a few milliseconds;
- it works as root (Docker, CI) by running PostgreSQL as an unprivileged
  user (:mod:`.processes`);
- the server dies with the process that started it (``PR_SET_PDEATHSIG``),
  and :func:`~.reaper.reap_stale` removes whatever a killed run left behind:
  every server directory records its owner's pid and start time;
- a lock wait cannot hang a test run: ``lock_timeout`` is 10 s unless
  ``FLASK_DBTESTCASE_LOCK_TIMEOUT`` says otherwise (``0`` turns it off;
  ``FLASK_DBTESTCASE_STATEMENT_TIMEOUT`` bounds every statement, off by
  default).

Importing this module imports testing.postgresql, and with it pg8000: the
modules that start a server import it where they start one.
"""

from __future__ import annotations

import os
import pwd
import signal
import tempfile

from ..errors import ConfigurationError
from .binaries import find_postgres_bin
from .directories import runtime_dir
from .identity import MARKER, SERVER_PORT
from .initdb_cache import copy_tree, initdb_cached
from .keepdb import KeptData
from .postmaster import Postmaster
from .processes import chown, process_start_time, server_user, write_private
from .reaper import reap_stale
from .serverconfig import ServerConfig
from .stopreason import stop_reason

__all__ = ["ThrowawayServer"]

#: The server's settings, as testing.postgresql's ``postgres_args``.
_SERVER_SETTINGS = [
    "-F",
    "-c listen_addresses=",
    "-c logging_collector=off",
    "-c full_page_writes=off",
    "-c synchronous_commit=off",
    # Shared memory segments in the data directory, removed with it: POSIX
    # ones (/dev/shm/PostgreSQL.*) outlive a server stopped with SIGQUIT or
    # SIGKILL.
    "-c dynamic_shared_memory_type=mmap",
]


def _postmaster(config: ServerConfig, base_dir: str, bin_dir: str) -> Postmaster:
    """Return testing.postgresql's server for ``base_dir``, not started."""
    timeouts = [
        "-c", f"lock_timeout={config.lock_timeout}",
        "-c", f"statement_timeout={config.statement_timeout}",
    ]  # fmt: skip
    return Postmaster(
        base_dir=base_dir,
        initdb=os.path.join(bin_dir, "initdb"),
        postgres=os.path.join(bin_dir, "postgres"),
        port=SERVER_PORT,
        postgres_args=" ".join(_SERVER_SETTINGS),
        timeouts=timeouts,
        auto_start=0,
    )


class ThrowawayServer:
    """A private PostgreSQL server whose data is thrown away on :meth:`stop`.

    Use :meth:`start` (a classmethod) to get a running one, and :meth:`url`
    to connect to it.

    :param postmaster: testing.postgresql's server, in its own directory.
    :param bin_dir: the directory holding ``initdb`` and ``postgres``.
    :param kept: with ``keepdb``, the kept data directory to run on.
    """

    def __init__(self, postmaster: Postmaster, bin_dir: str, kept: KeptData | None = None) -> None:
        #: testing.postgresql's server: its process is ``postmaster.child_process``.
        self.postmaster = postmaster
        self.bin_dir = bin_dir
        #: With ``keepdb``: the kept data directory this server runs on.
        self.kept = kept
        #: The server's private directory (data, socket, log).
        self.base_dir = postmaster.base_dir
        self.data_dir: str = postmaster.get_data_directory()
        self.socket_dir = postmaster.socket_dir
        self.log_path = postmaster.log_path
        if kept is not None:  # fast shutdown: kept data must stay consistent
            postmaster.terminate_signal = signal.SIGINT
        self._owner = os.getpid()
        self._stopped = False

    @classmethod
    def start(
        cls, config: ServerConfig, keepdb: bool = False, project: str | None = None
    ) -> ThrowawayServer:
        """Start a server and return it once it accepts connections.

        With ``keepdb``, it runs on the data directory kept for ``project``
        (default: the current directory) by earlier runs (:mod:`.keepdb`),
        unless another run is using it: then ``kept`` is None and the server
        is a fresh one, as without ``keepdb``.

        :param config: the server configuration
            (:meth:`~flask_dbtestcase.settings.Settings.server_config`).
        :param keepdb: run on the project's kept data directory.
        :param project: the project's top-level directory.
        """
        reap_stale(config)
        bin_dir = find_postgres_bin(config)
        user = server_user()
        cached = initdb_cached(config, bin_dir, user)
        kept = None
        if keepdb:
            kept = KeptData.acquire(config, bin_dir, user, project or os.getcwd(), cached)
        try:
            base = tempfile.mkdtemp(prefix=f"srv-{os.getpid()}-", dir=runtime_dir(config))
        except BaseException:
            if kept is not None:
                kept.release()
            raise
        pid = os.getpid()
        write_private(os.path.join(base, "owner"), f"{pid} {process_start_time(pid)}\n")
        chown(base, user)
        server = cls(_postmaster(config, base, bin_dir), bin_dir, kept)
        try:
            server._set_up(cached, user)
            try:
                server.postmaster.start()
            except ConfigurationError:
                if kept is None:
                    raise
                # A kept data directory that no longer starts: start afresh.
                server.postmaster.terminate()
                kept.reset(cached, user, project or os.getcwd())
                server.postmaster.start()
        except BaseException:
            server.stop()
            raise
        return server

    def _set_up(self, cached: str, user: pwd.struct_passwd) -> None:
        """Put the data directory in place; make the socket directory, marked as ours."""
        # cp -a, not testing.postgresql's copy_data_from: its copytree is slower,
        # and, as root, leaves files the server user does not own.
        if self.kept is not None:
            os.symlink(self.kept.data_dir, self.postmaster.get_data_directory())
        else:
            copy_tree(cached, self.postmaster.get_data_directory())
        self.postmaster.setup()
        write_private(os.path.join(self.socket_dir, MARKER), self.base_dir + "\n")
        chown(self.socket_dir, user)

    def url(self, database: str, driver: str) -> str:
        """Return the SQLAlchemy URL of ``database`` on this server, in the run's driver.

        :param database: the database's name.
        :param driver: the run's driver, ``"psycopg"`` or ``"psycopg2"``
            (:mod:`flask_dbtestcase.databases.drivers`): the URL names it.
        """
        # The port is named: a URL without one would take libpq's PGPORT.
        return f"postgresql+{driver}://postgres@:{SERVER_PORT}/{database}?host={self.socket_dir}"

    def is_server_available(self) -> bool:
        """Tell whether the server is ready (its ``postmaster.pid`` says so)."""
        return bool(self.postmaster.is_server_available())

    def stop_reason(self) -> str | None:
        """Say why the server stopped when something outside the run stopped it.

        Returns ``None`` while it runs, and once :meth:`stop` stopped it.
        The reason is the shutdown request in the server's log ("received
        fast shutdown request": ``pg_ctl stop``, a SIGINT), or the signal
        that killed it (SIGKILL: a ``kill -9``, the OOM killer).
        """
        process = self.postmaster.child_process
        if self._stopped or self._owner != os.getpid() or process is None:
            return None
        status = process.poll()
        if status is None and self.is_server_available():
            return None
        return stop_reason(self.log_path, status)

    def stop(self) -> None:
        """Stop the server and remove its directory. Safe to call twice."""
        if self._stopped or self._owner != os.getpid():
            return
        try:
            self.postmaster.stop()
        finally:
            if self.kept is not None:
                self.kept.release()
            self._stopped = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.socket_dir}>"
