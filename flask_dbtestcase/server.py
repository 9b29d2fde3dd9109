"""A throwaway PostgreSQL server: private, fast to start, never left behind.

Built on :mod:`testing.postgresql`, with what a test run needs on top:

- no TCP at all: a unix socket in a private ``0700`` directory, so parallel
  runs never fight over a port;
- ``initdb`` runs once and its result is cached across runs
  (:mod:`._initdb_cache`); each server copies the cached data directory
  (``cp -a``) and starts in a few milliseconds;
- it works as root (Docker, CI) by running PostgreSQL as an unprivileged
  user (:mod:`._pgprocess`);
- the server dies with the process that started it (``PR_SET_PDEATHSIG``),
  and :func:`reap_stale` removes whatever a killed run left behind: every
  server directory records its owner's pid and start time;
- a lock wait cannot hang a test run: ``lock_timeout`` is 10 s unless
  ``FLASK_DBTESTCASE_LOCK_TIMEOUT`` says otherwise (``0`` turns it off;
  ``FLASK_DBTESTCASE_STATEMENT_TIMEOUT`` bounds every statement, off by
  default).
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import typing as t

import testing.postgresql

from ._initdb_cache import copy_tree as _copy_tree
from ._initdb_cache import initdb_cached
from ._initdb_cache import tail as _tail
from ._keepdb import KeptData
from ._pgprocess import chown as _chown
from ._pgprocess import find_postgres_bin
from ._pgprocess import kill_and_wait as _kill_and_wait
from ._pgprocess import open_private
from ._pgprocess import pid_alive as _pid_alive
from ._pgprocess import process_start_time as _process_start_time
from ._pgprocess import server_user as _server_user
from ._pgprocess import spawn as _spawn
from ._pgprocess import write_private
from .errors import ConfigurationError

__all__ = [
    "ThrowawayServer",
    "find_postgres_bin",
    "is_throwaway_url",
    "process_server",
    "reap_stale",
    "runtime_dir",
]

_MARKER = "flask-dbtestcase-server"
_SERVER_SETTINGS = [
    "-F",
    "-c", "listen_addresses=",
    "-c", "logging_collector=off",
    "-c", "full_page_writes=off",
    "-c", "synchronous_commit=off",
]  # fmt: skip
#: Settings a user may change through the environment, and their defaults.
_TIMEOUTS = {
    "lock_timeout": ("FLASK_DBTESTCASE_LOCK_TIMEOUT", "10s"),
    "statement_timeout": ("FLASK_DBTESTCASE_STATEMENT_TIMEOUT", "0"),
}
_BOOT_TIMEOUT = 30.0


def _timeout_settings() -> list[str]:
    args = []
    for name, (env, default) in _TIMEOUTS.items():
        value = os.environ.get(env, "").strip() or default
        args += ["-c", f"{name}={value}"]
    return args


# -- the runtime directory -------------------------------------------------------


def _runtime_paths() -> list[str]:
    """Where server directories may live: RAM first, then the temp dir.

    ``FLASK_DBTESTCASE_RUNTIME_DIR`` names one parent directory instead.
    """
    name = f"flask-dbtestcase-{os.geteuid()}"
    if os.environ.get("FLASK_DBTESTCASE_RUNTIME_DIR"):
        return [os.path.join(os.environ["FLASK_DBTESTCASE_RUNTIME_DIR"], name)]
    base = tempfile.gettempdir()
    if len(base) > 40:  # unix socket paths are limited to ~100 bytes
        base = "/tmp"
    return [os.path.join("/dev/shm", name), os.path.join(base, name)]


def _shm_usable() -> bool:
    # tmpfs makes the copy ~20x faster than a disk, but Docker's default
    # /dev/shm is 64 MB, which PostgreSQL itself needs: demand room.
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return False
    return st.f_bavail * st.f_frsize >= 1 << 30 and os.access("/dev/shm", os.W_OK)


def runtime_dir() -> str:
    """This user's directory holding one subdirectory per running server."""
    paths = _runtime_paths()
    path = paths[0] if len(paths) == 1 or _shm_usable() else paths[1]
    mode = 0o711 if os.geteuid() == 0 else 0o700
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not os.path.isdir(path) or os.path.islink(path) or st.st_uid != os.geteuid():
        raise ConfigurationError(
            f"The directory {path!r} is not a directory owned by the current"
            " user, so it cannot safely hold the throwaway PostgreSQL server."
            " Remove it and run the tests again."
        )
    os.chmod(path, mode)
    return path


# -- the server ----------------------------------------------------------------


class ThrowawayServer(testing.postgresql.Postgresql):
    """A private PostgreSQL server whose data is thrown away on :meth:`stop`.

    Use :meth:`start` (a classmethod) to get a running one, and :meth:`url`
    to connect to it.
    """

    base_dir: str
    socket_dir: str

    def __init__(self, base_dir: str, bin_dir: str, kept: KeptData | None = None) -> None:
        self.bin_dir = bin_dir
        self.socket_dir = os.path.join(base_dir, "sock")
        #: With ``keepdb``: the kept data directory this server runs on.
        self.kept = kept
        self._stopped = False
        super().__init__(base_dir=base_dir, auto_start=0, port=5432)

    @classmethod
    def start(cls, keepdb: bool = False, project: str | None = None) -> ThrowawayServer:  # type: ignore[override]
        """Start a server and return it once it accepts connections.

        With ``keepdb``, it runs on the data directory kept for ``project``
        (default: the current directory) by earlier runs (:mod:`._keepdb`),
        unless another run is using it: then ``kept`` is None and the server
        is a fresh one, as without ``keepdb``.
        """
        reap_stale()
        bin_dir = find_postgres_bin()
        user = _server_user()
        cached = initdb_cached(bin_dir, user, runtime_dir())
        kept = None
        if keepdb:
            kept = KeptData.acquire(bin_dir, user, project or os.getcwd(), runtime_dir(), cached)
        try:
            base = tempfile.mkdtemp(prefix=f"srv-{os.getpid()}-", dir=runtime_dir())
        except BaseException:
            if kept is not None:
                kept.release()
            raise
        pid = os.getpid()
        write_private(os.path.join(base, "owner"), f"{pid} {_process_start_time(pid)}\n")
        _chown(base, user)
        server = cls(base, bin_dir, kept)
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
        self.initdb = os.path.join(self.bin_dir, "initdb")
        self.postgres = os.path.join(self.bin_dir, "postgres")

    def setup(self, cached: str, user: pwd.struct_passwd) -> None:  # type: ignore[override]
        """Copy the cached data directory (or link the kept one) and make
        the socket directory."""
        if self.kept is not None:
            os.symlink(self.kept.data_dir, self.get_data_directory())
        else:
            _copy_tree(cached, self.get_data_directory())
        os.mkdir(self.socket_dir, 0o700)
        write_private(os.path.join(self.socket_dir, _MARKER), self.base_dir + "\n")
        _chown(self.socket_dir, user)

    def initialize_database(self) -> None:
        """Nothing to do: :meth:`start` copies an initialised data directory."""

    def get_server_commandline(self) -> list[str]:
        return [
            self.postgres,
            "-D", self.get_data_directory(),
            "-k", self.socket_dir,
            "-p", str(self.settings["port"]),
            *_SERVER_SETTINGS,
            *_timeout_settings(),
        ]  # fmt: skip

    @property
    def log_path(self) -> str:
        return os.path.join(self.base_dir, "postgres.log")

    def _launch(self) -> None:
        with open_private(self.log_path) as log:
            self.child_process = _spawn(
                self.get_server_commandline(), stdout=log, stderr=subprocess.STDOUT
            )
        self.wait_booting()
        self.poststart()

    def wait_booting(self) -> None:
        """Poll ``postmaster.pid`` every 2 ms until it says "ready"."""
        deadline = time.monotonic() + _BOOT_TIMEOUT
        while not self.is_server_available():
            if self.child_process.poll() is not None:
                raise self._boot_error("exited while starting")
            if time.monotonic() > deadline:
                raise self._boot_error(f"did not start within {_BOOT_TIMEOUT:.0f} s")
            time.sleep(0.002)

    def is_server_available(self) -> bool:
        path = os.path.join(self.get_data_directory(), "postmaster.pid")
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def poststart(self) -> None:
        """Nothing to create: tests make their own databases."""

    def _boot_error(self, what: str) -> ConfigurationError:
        return ConfigurationError(
            f"The throwaway PostgreSQL server ({self.postgres}) {what}. The end"
            f" of its log: {_tail(self.log_path)} Check the PostgreSQL"
            " installation, or use an existing server with --database-url."
        )

    def url(self, database: str = "postgres") -> str:  # type: ignore[override]
        """The SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg2://postgres@/{database}?host={self.socket_dir}"

    def dsn(self, **kwargs: t.Any) -> dict[str, t.Any]:
        params = {"host": self.socket_dir, "port": 5432, "user": "postgres"}
        params.update(database="postgres", **kwargs)
        return params

    def terminate(self, *args: t.Any) -> None:
        """Immediate shutdown (SIGQUIT): the data is thrown away anyway; fast
        shutdown (SIGINT) on kept data, which must stay consistent."""
        if self.child_process is None or self._owner_pid != os.getpid():
            return
        _kill_and_wait(self.child_process.pid,
                       sig=signal.SIGINT if self.kept is not None else signal.SIGQUIT)
        self.child_process.poll()
        self.child_process = None

    def cleanup(self) -> None:
        if self._owner_pid == os.getpid() and self.child_process is None:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def stop(self) -> None:  # type: ignore[override]
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


# -- the per-process server, the throwaway check, the reaper ------------------

_process_server: ThrowawayServer | None = None
_process_lock = threading.Lock()
_signals_installed = False


def process_server() -> ThrowawayServer:
    """This process's server, started on first use and stopped at exit.

    A forked child shares its parent's server; only the parent stops it.
    Outside the runner (``python -m unittest``), SIGTERM then stops the run
    like Ctrl-C does (a ``KeyboardInterrupt``, so the server is stopped at
    exit), and either stops a test blocked in a query: see
    :mod:`._interrupt`.
    """
    global _process_server
    with _process_lock:
        if _process_server is None or not _process_server.is_server_available():
            if _process_server is not None:  # it died: clean up after it
                _process_server.stop()
            _process_server = ThrowawayServer.start()
            atexit.register(_process_server.stop)
            _install_signal_handling()
        return _process_server


def _install_signal_handling() -> None:
    global _signals_installed
    if _signals_installed or threading.current_thread() is not threading.main_thread():
        return
    _signals_installed = True
    from ._interrupt import QueryCanceller

    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _sigterm_to_keyboard_interrupt)
    QueryCanceller().install()  # does nothing if the wakeup fd is taken


def _sigterm_to_keyboard_interrupt(signum: int, frame: t.Any) -> None:
    raise KeyboardInterrupt("SIGTERM")


def is_throwaway_url(url: t.Any) -> bool:
    """Whether ``url`` points at a live server this package started."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url) if isinstance(url, str) else url
        host = parsed.query.get("host") or parsed.host or ""
    except Exception:
        return False
    if isinstance(host, tuple):
        host = host[0] if len(host) == 1 else ""
    if not host.startswith("/"):
        return False
    sock = os.path.realpath(host)
    base = os.path.dirname(sock)
    roots = {os.path.realpath(p) for p in _runtime_paths()}
    if os.path.basename(sock) != "sock" or os.path.dirname(base) not in roots:
        return False
    try:
        with open(os.path.join(sock, _MARKER)) as f:
            if f.read().strip() != base:
                return False
        with open(os.path.join(base, "data", "postmaster.pid")) as f:
            return _pid_alive(int(f.readline()))
    except (OSError, ValueError):
        return False


def reap_stale() -> int:
    """Stop the servers and remove the directories left by killed runs.

    Returns how many directories were removed.
    """
    reaped = 0
    runtime_dir()  # fails loudly on a runtime dir that is not ours
    roots = [
        root
        for root in _runtime_paths()
        if os.path.isdir(root)
        and not os.path.islink(root)
        and os.stat(root).st_uid == os.geteuid()
    ]
    for root, name in [(root, name) for root in roots for name in os.listdir(root)]:
        match = re.match(r"(?:srv|initdb)-(\d+)-", name)
        if not match:
            continue
        path = os.path.join(root, name)
        pid, start_time = int(match.group(1)), ""
        try:
            with open(os.path.join(path, "owner")) as f:
                fields = f.read().split()
            pid, start_time = int(fields[0]), (fields[1:] or [""])[0]
        except (OSError, ValueError, IndexError):
            pass
        if _pid_alive(pid, start_time):
            continue
        _kill_postmaster(path)
        shutil.rmtree(path, ignore_errors=True)
        reaped += 1
    return reaped


def _kill_postmaster(server_dir: str) -> None:
    try:
        with open(os.path.join(server_dir, "data", "postmaster.pid")) as f:
            pid = int(f.readline())
    except (OSError, ValueError):
        return
    try:  # a recycled pid must not be killed: check it runs on our data dir
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if server_dir.encode() not in f.read():
                return
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return  # Linux and the process is gone
    except OSError:
        pass
    _kill_and_wait(pid)
