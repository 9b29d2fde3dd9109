"""testing.postgresql's server, with what it cannot do for a test run overridden.

The throwaway server (:mod:`.server`) is a :class:`testing.postgresql.Postgresql`
given through its settings: ``base_dir``, the ``initdb`` and ``postgres``
programs, ``port``, ``postgres_args`` (no TCP, no fsync, ...) and
``auto_start=0``. Its :meth:`~testing.postgresql.Postgresql.setup` makes the
socket directory, :meth:`start` starts the server, and
:meth:`~testing.common.database.Database.stop` stops it and removes its
directory. Each override below says what the library does that a test run
cannot use.

Importing :mod:`testing.postgresql` imports pg8000 (for its own readiness
check and ``test`` database, both overridden here): only a process that
starts a server imports this module, and it imports testing.postgresql with
a stand-in for pg8000 that imports the real one on first use (~65 ms of
imports, CPU time the server's start competes with, spared).
"""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import subprocess
import sys
import time
import types
import typing as t

from ..errors import ConfigurationError
from .initdb_cache import tail
from .processes import kill_and_wait, open_private, spawn

__all__ = ["BOOT_TIMEOUT", "Postmaster"]


def _import_testing_postgresql() -> t.Any:
    """Import :mod:`testing.postgresql`, pg8000 standing in until something uses it."""
    if "pg8000" in sys.modules or "testing.postgresql" in sys.modules:
        return importlib.import_module("testing.postgresql")
    stand_in = types.ModuleType("pg8000")

    def real_attribute(name: str) -> t.Any:
        real = importlib.import_module("pg8000")  # (the stand-in has left sys.modules)
        module = sys.modules.get("testing.postgresql")
        if module is not None and getattr(module, "pg8000", None) is stand_in:
            vars(module)["pg8000"] = real  # another Postgresql of the process connects with it
        return getattr(real, name)

    stand_in.__getattr__ = real_attribute  # type: ignore[method-assign]
    sys.modules["pg8000"] = stand_in
    try:
        return importlib.import_module("testing.postgresql")
    finally:
        if sys.modules.get("pg8000") is stand_in:
            del sys.modules["pg8000"]


# testing.postgresql has no type information: its class is Any to mypy.
_Postgresql: t.Any = _import_testing_postgresql().Postgresql

#: How long a server may take to start, in seconds.
BOOT_TIMEOUT = 30.0


class Postmaster(_Postgresql):  # type: ignore[misc]
    """A PostgreSQL server on a data directory already in place, on a unix socket only.

    It takes testing.postgresql's settings as keyword arguments, and one of
    its own: ``timeouts``, the ``-c`` arguments of the server's timeouts.
    """

    # Its socket directory is tmp: ours is sock, the name the throwaway check knows.
    subdirectories = ["sock"]
    # Immediate shutdown, as its data is thrown away (a kept data directory takes SIGINT).
    terminate_signal = signal.SIGQUIT

    # Set by testing.postgresql:
    base_dir: str
    settings: dict[str, t.Any]
    child_process: subprocess.Popen[bytes] | None
    postgres: str
    _owner_pid: int  # the process that made it: no other one stops it

    #: Whether :meth:`cleanup` set the directory's removal going.
    _removed = False

    @property
    def socket_dir(self) -> str:
        """The private directory of the server's unix socket."""
        return os.path.join(self.base_dir, "sock")

    @property
    def log_path(self) -> str:
        """The server's log file."""
        return os.path.join(self.base_dir, "postgres.log")

    def initialize_database(self) -> None:
        """Run no ``initdb``: the data directory is in place before :meth:`setup`."""
        # Its initdb runs as us (refused as root): the data is a copy of the initdb cache.

    def get_server_commandline(self) -> list[str]:
        """Return the ``postgres`` command line: a private socket, the settings, the timeouts."""
        # Socket in sock, not tmp; timeouts whole: it splits postgres_args on spaces ("10 s").
        return [
            self.postgres,
            "-p", str(self.settings["port"]),
            "-D", self.get_data_directory(),
            "-k", self.socket_dir,
            *self.settings["postgres_args"].split(),
            *self.settings["timeouts"],
        ]  # fmt: skip

    def start(self) -> None:
        """Start the server; return once it accepts connections."""
        # A plain Popen, then a 'test' database: spawn() drops root, and dies with us.
        if self.child_process is not None:
            return  # already started
        with open_private(self.log_path) as log:
            self.child_process = spawn(
                self.get_server_commandline(), stdout=log, stderr=subprocess.STDOUT
            )
        self.wait_booting()

    def wait_booting(self) -> None:
        """Wait until the server is ready, or raise why it is not."""
        # It polls every 0.1 s, and its error holds the whole log: 2 ms, and one paragraph.
        deadline = time.monotonic() + BOOT_TIMEOUT
        assert self.child_process is not None  # start() started it
        while not self.is_server_available():
            if self.child_process.poll() is not None:
                raise self._boot_error("exited while starting")
            if time.monotonic() > deadline:
                raise self._boot_error(f"did not start within {BOOT_TIMEOUT:.0f} s")
            time.sleep(0.002)

    def is_server_available(self) -> bool:
        """Tell whether ``postmaster.pid`` says the server is ready."""
        # It connects with pg8000 over TCP, which this server has not: postmaster.pid says.
        path = os.path.join(self.get_data_directory(), "postmaster.pid")
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def _boot_error(self, what: str) -> ConfigurationError:
        return ConfigurationError(
            f"The throwaway PostgreSQL server ({self.postgres}) {what}. The end"
            f" of its log: {tail(self.log_path)} Check the PostgreSQL"
            " installation, or use an existing server with --database-url."
        )

    def terminate(self, _signal: int | None = None) -> None:
        """Stop the server process with :attr:`terminate_signal`, and wait for it.

        :param _signal: ignored: ``stop()`` passes SIGTERM, a smart shutdown
            that would wait for every client to leave.
        """
        # It polls every 0.1 s and raises after 10 s: a pidfd wakes at the exit; then SIGKILL.
        if self.child_process is None or self._owner_pid != os.getpid():
            return
        kill_and_wait(self.child_process.pid, sig=self.terminate_signal)
        self.child_process.poll()
        self.child_process = None

    def cleanup(self) -> None:
        """Remove the server's directory, once its process is stopped.

        Its ~1,000 files go in an ``rm -rf`` left running in the background
        (~7 ms, off the run's critical path; :func:`~.reaper.reap_stale`
        finishes the job if it is killed); where none can be started, they
        are removed here.
        """
        # It removes only a base_dir it made itself, and in the foreground.
        if self._removed or self.child_process is not None or self._owner_pid != os.getpid():
            return
        self._removed = True
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
