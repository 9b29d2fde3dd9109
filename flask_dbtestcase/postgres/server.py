"""A throwaway PostgreSQL server: private, fast to start, never left behind.

Built on :mod:`testing.postgresql`, with what a test run needs on top:

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
"""

from __future__ import annotations

import importlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types
import typing as t

from ..errors import ConfigurationError
from .binaries import find_postgres_bin
from .directories import runtime_dir
from .identity import MARKER, SERVER_PORT
from .initdb_cache import copy_tree, initdb_cached, tail
from .keepdb import KeptData
from .processes import (
    chown,
    kill_and_wait,
    open_private,
    process_start_time,
    server_user,
    spawn,
    write_private,
)
from .reaper import reap_stale
from .serverconfig import ServerConfig
from .stopreason import stop_reason


class _ImportedOnUse(types.ModuleType):
    """Stands for a module until one of its attributes is read: then imports it."""

    def __getattr__(self, name: str) -> t.Any:
        return getattr(importlib.import_module(self.__name__), name)


def _import_testing_postgresql() -> types.ModuleType:
    """Import testing.postgresql without importing pg8000 (~15 ms, with scramp,
    asn1crypto and dateutil): it only serves the methods the server overrides.
    """
    if "pg8000" in sys.modules:
        return importlib.import_module("testing.postgresql")
    stand_in = sys.modules["pg8000"] = _ImportedOnUse("pg8000")
    try:
        return importlib.import_module("testing.postgresql")
    finally:  # a later 'import pg8000' gets the real one
        if sys.modules.get("pg8000") is stand_in:
            del sys.modules["pg8000"]


if t.TYPE_CHECKING:
    import testing.postgresql as _testing_postgresql
else:
    _testing_postgresql = _import_testing_postgresql()

__all__ = ["ThrowawayServer"]

_SERVER_SETTINGS = [
    "-F",
    "-c", "listen_addresses=",
    "-c", "logging_collector=off",
    "-c", "full_page_writes=off",
    "-c", "synchronous_commit=off",
    # Shared memory segments in the data directory, removed with it: POSIX
    # ones (/dev/shm/PostgreSQL.*) outlive a server stopped with SIGQUIT or
    # SIGKILL.
    "-c", "dynamic_shared_memory_type=mmap",
]  # fmt: skip
_BOOT_TIMEOUT = 30.0


def _timeout_settings(config: ServerConfig) -> list[str]:
    return [
        "-c", f"lock_timeout={config.lock_timeout}",
        "-c", f"statement_timeout={config.statement_timeout}",
    ]  # fmt: skip


# -- the server ----------------------------------------------------------------


# testing.postgresql has no type information: its class is Any to mypy.
class ThrowawayServer(_testing_postgresql.Postgresql):  # type: ignore[misc]
    """A private PostgreSQL server whose data is thrown away on :meth:`stop`.

    Use :meth:`start` (a classmethod) to get a running one, and :meth:`url`
    to connect to it.

    :param config: the server configuration (its timeouts).
    :param base_dir: the server's private directory (data, socket, log).
    :param bin_dir: the directory holding ``initdb`` and ``postgres``.
    :param kept: with ``keepdb``, the kept data directory to run on.
    """

    base_dir: str
    socket_dir: str
    # Set by testing.postgresql's Database:
    settings: dict[str, t.Any]
    child_process: subprocess.Popen[bytes] | None
    _owner_pid: int

    def __init__(
        self, config: ServerConfig, base_dir: str, bin_dir: str, kept: KeptData | None = None
    ) -> None:
        self.config = config
        self.bin_dir = bin_dir
        self.socket_dir = os.path.join(base_dir, "sock")
        #: With ``keepdb``: the kept data directory this server runs on.
        self.kept = kept
        self._stopped = False
        super().__init__(base_dir=base_dir, auto_start=0, port=SERVER_PORT)

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
        server = cls(config, base, bin_dir, kept)
        try:
            server.setup(cached, user)
            try:
                server._launch()
            except ConfigurationError:
                if kept is None:
                    raise
                # A kept data directory that no longer starts: start afresh.
                server.terminate()
                kept.reset(cached, user, project or os.getcwd())
                server._launch()
        except BaseException:
            server.stop()
            raise
        return server

    def initialize(self) -> None:
        """Set the paths of ``initdb`` and ``postgres`` (called by testing.postgresql)."""
        self.initdb = os.path.join(self.bin_dir, "initdb")
        self.postgres = os.path.join(self.bin_dir, "postgres")

    def setup(self, cached: str, user: pwd.struct_passwd) -> None:
        """Copy the cached data directory (or link the kept one); make the socket directory.

        :param cached: the initdb cache's data directory.
        :param user: the server user, who owns the socket directory.
        """
        if self.kept is not None:
            os.symlink(self.kept.data_dir, self.get_data_directory())
        else:
            copy_tree(cached, self.get_data_directory())
        os.mkdir(self.socket_dir, 0o700)
        write_private(os.path.join(self.socket_dir, MARKER), self.base_dir + "\n")
        chown(self.socket_dir, user)

    def initialize_database(self) -> None:
        """Nothing to do: :meth:`start` copies an initialised data directory."""

    def get_server_commandline(self) -> list[str]:
        """Return the ``postgres`` command line: no TCP, a private socket, no fsync."""
        return [
            self.postgres,
            "-D", self.get_data_directory(),
            "-k", self.socket_dir,
            "-p", str(self.settings["port"]),
            *_SERVER_SETTINGS,
            *_timeout_settings(self.config),
        ]  # fmt: skip

    @property
    def log_path(self) -> str:
        """The server's log file."""
        return os.path.join(self.base_dir, "postgres.log")

    def _launch(self) -> None:
        with open_private(self.log_path) as log:
            self.child_process = spawn(
                self.get_server_commandline(), stdout=log, stderr=subprocess.STDOUT
            )
        self.wait_booting()
        self.poststart()

    def wait_booting(self) -> None:
        """Poll ``postmaster.pid`` every 2 ms until it says "ready"."""
        deadline = time.monotonic() + _BOOT_TIMEOUT
        assert self.child_process is not None  # _launch started it
        while not self.is_server_available():
            if self.child_process.poll() is not None:
                raise self._boot_error("exited while starting")
            if time.monotonic() > deadline:
                raise self._boot_error(f"did not start within {_BOOT_TIMEOUT:.0f} s")
            time.sleep(0.002)

    def is_server_available(self) -> bool:
        """Tell whether ``postmaster.pid`` says the server is ready."""
        path = os.path.join(self.get_data_directory(), "postmaster.pid")
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def stop_reason(self) -> str | None:
        """Say why the server stopped when something outside the run stopped it.

        Returns ``None`` while it runs, and once :meth:`stop` stopped it.
        The reason is the shutdown request in the server's log ("received
        fast shutdown request": ``pg_ctl stop``, a SIGINT), or the signal
        that killed it (SIGKILL: a ``kill -9``, the OOM killer).
        """
        if self._stopped or self._owner_pid != os.getpid() or self.child_process is None:
            return None
        status = self.child_process.poll()
        if status is None and self.is_server_available():
            return None
        return stop_reason(self.log_path, status)

    def poststart(self) -> None:
        """Nothing to create: tests make their own databases."""

    def _boot_error(self, what: str) -> ConfigurationError:
        return ConfigurationError(
            f"The throwaway PostgreSQL server ({self.postgres}) {what}. The end"
            f" of its log: {tail(self.log_path)} Check the PostgreSQL"
            " installation, or use an existing server with --database-url."
        )

    def url(self, database: str = "postgres") -> str:
        """Return the SQLAlchemy URL of ``database`` on this server.

        :param database: the database's name.
        """
        # The port is named: a URL without one would take libpq's PGPORT.
        return f"postgresql+psycopg2://postgres@:{SERVER_PORT}/{database}?host={self.socket_dir}"

    def dsn(self, **kwargs: t.Any) -> dict[str, t.Any]:
        """Return psycopg2's connection arguments for this server.

        :param kwargs: arguments to add or override (such as ``database``).
        """
        params = {"host": self.socket_dir, "port": SERVER_PORT, "user": "postgres"}
        params.update(database="postgres", **kwargs)
        return params

    def terminate(self, *args: t.Any) -> None:
        """Stop the server process, and wait for it.

        Immediate shutdown (SIGQUIT): the data is thrown away anyway; fast
        shutdown (SIGINT) on kept data, which must stay consistent.

        :param args: ignored (testing.postgresql passes a signal).
        """
        if self.child_process is None or self._owner_pid != os.getpid():
            return
        kill_and_wait(
            self.child_process.pid, sig=signal.SIGINT if self.kept is not None else signal.SIGQUIT
        )
        self.child_process.poll()
        self.child_process = None

    def cleanup(self) -> None:
        """Remove the server's directory, once its process is stopped.

        Its ~1,000 files go in an ``rm -rf`` left running in the background
        (~7 ms, off the run's critical path; :func:`reap_stale` finishes the
        job if it is killed); where none can be started, they are removed here.
        """
        if self._owner_pid != os.getpid() or self.child_process is not None:
            return
        try:
            started = subprocess.run(
                # sh leaves rm running and exits at once, so nothing waits for rm.
                ["sh", "-c", 'rm -rf -- "$1" </dev/null >/dev/null 2>&1 &', "sh", self.base_dir],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C meant for the run does not stop it
                check=False,
            )
        except OSError:
            started = None
        if started is None or started.returncode != 0:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def stop(self) -> None:
        """Stop the server and remove its directory. Safe to call twice."""
        if self._stopped or self._owner_pid != os.getpid():
            return
        try:
            self.terminate()
        finally:
            self.cleanup()
            if self.kept is not None:
                self.kept.release()
            self._stopped = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.socket_dir}>"
