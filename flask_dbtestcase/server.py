"""A throwaway PostgreSQL server: private, fast to start, never left behind.

Built on :mod:`testing.postgresql`, with what a test run needs on top:

- no TCP at all: a unix socket in a private ``0700`` directory, so parallel
  runs never fight over a port;
- ``initdb`` runs once and its result is cached across runs; each server
  copies the cached data directory (``cp -a``) and starts in a few
  milliseconds;
- it works as root (Docker, CI) by running PostgreSQL as an unprivileged
  user;
- the server dies with the process that started it (``PR_SET_PDEATHSIG``),
  and :func:`reap_stale` removes whatever a killed run left behind.
"""

from __future__ import annotations

import atexit
import ctypes
import fcntl
import functools
import glob
import hashlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import typing as t

import testing.postgresql

from .errors import ConfigurationError
from .errors import PostgreSQLNotFound

#: Bumped when the cached data directory's layout or initdb options change.
_CACHE_FORMAT = "1"
_MARKER = "flask-dbtestcase-server"
_INITDB_ARGS = [
    "-U", "postgres", "-A", "trust", "--no-sync", "--lc-messages=C",
    "-E", "UTF8", "--locale=C", "--wal-segsize=1",
]  # fmt: skip
_SERVER_SETTINGS = [
    "-F",
    "-c", "listen_addresses=",
    "-c", "logging_collector=off",
    "-c", "full_page_writes=off",
    "-c", "synchronous_commit=off",
]  # fmt: skip
_BOOT_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0
_PR_SET_PDEATHSIG = 1

_INSTALL_HINT = (
    "Install PostgreSQL (for example 'apt-get install postgresql' or"
    " 'brew install postgresql'), set FLASK_DBTESTCASE_PG_BIN to the directory"
    " that holds its 'initdb' and 'postgres' programs, or use an existing server"
    " instead with --database-url or the TEST_DATABASE_URL environment variable."
)


def find_postgres_bin() -> str:
    """Return the directory holding PostgreSQL's ``initdb`` and ``postgres``.

    ``FLASK_DBTESTCASE_PG_BIN`` wins, then ``PATH``, then the usual install
    locations, the highest version first.
    """
    forced = os.environ.get("FLASK_DBTESTCASE_PG_BIN")
    if forced:
        if _has_server_programs(forced):
            return os.path.abspath(forced)
        raise PostgreSQLNotFound(
            f"FLASK_DBTESTCASE_PG_BIN is set to {forced!r}, but that directory"
            " does not contain PostgreSQL's 'initdb' and 'postgres' programs."
            f" Fix or unset it. {_INSTALL_HINT}"
        )

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

    raise PostgreSQLNotFound(
        "PostgreSQL's server programs ('initdb' and 'postgres') were not found,"
        f" so no throwaway test server can be started. {_INSTALL_HINT}"
    )


def _has_server_programs(directory: str) -> bool:
    return all(
        os.access(os.path.join(directory, name), os.X_OK)
        for name in ("initdb", "postgres")
    )


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


@functools.lru_cache(maxsize=None)
def _server_version(bin_dir: str) -> str:
    out = subprocess.run(
        [os.path.join(bin_dir, "postgres"), "--version"],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    match = re.search(r"(\d+(?:\.\d+)*)", out)
    return match.group(1) if match else "unknown"


# -- users, directories and processes ----------------------------------------


def _server_user() -> pwd.struct_passwd:
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


def _cache_dir() -> str:
    path = os.environ.get("FLASK_DBTESTCASE_CACHE_DIR")
    if not path:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        path = os.path.join(xdg, "flask-dbtestcase")
    os.makedirs(path, exist_ok=True)
    return path


def _process_start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _pid_alive(pid: int, start_time: str = "") -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    # A recycled pid has another start time; "" means unknown (not Linux).
    return not start_time or _process_start_time(pid) in ("", start_time)


_libc: t.Any = None


def _preexec(user: pwd.struct_passwd | None, parent: int, pdeathsig: bool):
    """Build the ``preexec_fn`` dropping root and tying the child to us."""
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        _libc = ctypes.CDLL(None, use_errno=True)
    libc = _libc

    def preexec() -> None:
        os.setsid()  # Ctrl-C in the terminal goes to us, not to postgres
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


def _spawn(args: list[str], **kwargs: t.Any) -> subprocess.Popen:
    user = _server_user() if os.geteuid() == 0 else None
    # The death signal fires when the spawning *thread* exits: only rely on
    # it from the main thread; reap_stale() covers the rest.
    pdeathsig = threading.current_thread() is threading.main_thread()
    preexec = _preexec(user, os.getpid(), pdeathsig)
    return subprocess.Popen(args, preexec_fn=preexec, close_fds=True, **kwargs)


def _chown(path: str, user: pwd.struct_passwd) -> None:
    if os.geteuid() == 0:
        os.chown(path, user.pw_uid, user.pw_gid)


def _kill_and_wait(pid: int, timeout: float = _STOP_TIMEOUT) -> None:
    """SIGQUIT a process we may not be the parent of, SIGKILL if it lingers."""
    for sig, wait in ((signal.SIGQUIT, timeout), (signal.SIGKILL, 2.0)):
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
                if not _pid_alive(pid):
                    return
            time.sleep(0.005)


# -- the initdb cache ----------------------------------------------------------


def _initdb_cached(bin_dir: str, user: pwd.struct_passwd) -> str:
    """Return a cached, complete data directory, running initdb if needed."""
    real_bin = os.path.realpath(bin_dir)
    digest = hashlib.sha1(f"{_CACHE_FORMAT}:{real_bin}".encode()).hexdigest()[:10]
    name = f"initdb-{_server_version(bin_dir)}-{digest}-{user.pw_name}"
    entry = os.path.join(_cache_dir(), name)
    data = os.path.join(entry, "data")
    if _cache_complete(entry):
        return data
    # One initdb at a time (parallel workers on a cold cache wait for it);
    # the atomic rename below keeps it safe where flock does not work.
    with open(os.path.join(_cache_dir(), f".{name}.lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
        except OSError:
            pass
        if not _cache_complete(entry):
            _clear_cache_debris(entry)
            _build_cache_entry(bin_dir, user, entry)
    return data


def _build_cache_entry(bin_dir: str, user: pwd.struct_passwd, entry: str) -> None:
    name = os.path.basename(entry)
    # initdb runs as the server user, so it must work in a directory that
    # user can reach: the runtime dir (the cache may live under /root).
    work = tempfile.mkdtemp(prefix=f"initdb-{os.getpid()}-", dir=runtime_dir())
    try:
        _chown(work, user)
        target = os.path.join(work, "data")
        log_path = os.path.join(work, "initdb.log")
        with open(log_path, "wb") as log:
            proc = _spawn(
                [os.path.join(bin_dir, "initdb"), "-D", target, *_INITDB_ARGS],
                stdout=log, stderr=subprocess.STDOUT, cwd=work,
            )  # fmt: skip
            proc.wait()
        if proc.returncode != 0:
            raise ConfigurationError(
                f"PostgreSQL's initdb ({bin_dir}) failed with exit code"
                f" {proc.returncode}, so no throwaway server can be started."
                f" Its output ends with: {_tail(log_path)} Check the PostgreSQL"
                " installation, or use an existing server with --database-url."
            )
        with open(os.path.join(work, "complete"), "w") as f:
            f.write(f"{_server_version(bin_dir)}\n")
        os.remove(log_path)
        staging = work
        if os.stat(work).st_dev != os.stat(_cache_dir()).st_dev:
            staging = tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=_cache_dir())
            os.rmdir(staging)
            _copy_tree(work, staging)
        try:
            os.rename(staging, entry)
        except OSError:  # another process won the race: use theirs
            shutil.rmtree(staging, ignore_errors=True)
            if not _cache_complete(entry):
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _clear_cache_debris(entry: str) -> None:
    """Remove a broken entry, and copies abandoned by killed runs."""
    if os.path.isdir(entry) and not _cache_complete(entry):
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
                if time.time() - os.stat(path).st_mtime > 600:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                pass


def _copy_tree(source: str, target: str) -> None:
    """``cp -a``: fast, and keeps the server user's ownership."""
    copy = subprocess.run(["cp", "-a", source, target], capture_output=True, text=True)
    if copy.returncode != 0:
        raise ConfigurationError(
            f"Could not copy the PostgreSQL data directory {source!r} to"
            f" {target!r} ({copy.stderr.strip()}). Check that there is free"
            " space there, or delete flask-dbtestcase's cache directory."
        )


def _cache_complete(entry: str) -> bool:
    return os.path.isfile(os.path.join(entry, "complete")) and os.path.isfile(
        os.path.join(entry, "data", "PG_VERSION")
    )


def _tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, errors="replace") as f:
            return " | ".join(f.read().strip().splitlines()[-lines:]) or "(empty)"
    except OSError:
        return "(no log)"


# -- the server ----------------------------------------------------------------


class ThrowawayServer(testing.postgresql.Postgresql):
    """A private PostgreSQL server whose data is thrown away on :meth:`stop`.

    Use :meth:`start` (a classmethod) to get a running one, and :meth:`url`
    to connect to it.
    """

    base_dir: str
    socket_dir: str

    def __init__(self, base_dir: str, bin_dir: str) -> None:
        self.bin_dir = bin_dir
        self.socket_dir = os.path.join(base_dir, "sock")
        self._stopped = False
        super().__init__(base_dir=base_dir, auto_start=0, port=5432)

    @classmethod
    def start(cls) -> ThrowawayServer:  # type: ignore[override]
        """Start a fresh server and return it once it accepts connections."""
        reap_stale()
        bin_dir = find_postgres_bin()
        user = _server_user()
        cached = _initdb_cached(bin_dir, user)
        base = tempfile.mkdtemp(prefix=f"srv-{os.getpid()}-", dir=runtime_dir())
        with open(os.path.join(base, "owner"), "w") as f:
            f.write(f"{os.getpid()} {_process_start_time(os.getpid())}\n")
        _chown(base, user)
        server = cls(base, bin_dir)
        try:
            server.setup(cached, user)
            server._launch()
        except BaseException:
            server.stop()
            raise
        return server

    def initialize(self) -> None:
        self.initdb = os.path.join(self.bin_dir, "initdb")
        self.postgres = os.path.join(self.bin_dir, "postgres")

    def setup(self, cached: str, user: pwd.struct_passwd) -> None:  # type: ignore[override]
        """Copy the cached data directory and make the socket directory."""
        _copy_tree(cached, self.get_data_directory())
        os.mkdir(self.socket_dir, 0o700)
        with open(os.path.join(self.socket_dir, _MARKER), "w") as f:
            f.write(self.base_dir + "\n")
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
        ]  # fmt: skip

    @property
    def log_path(self) -> str:
        return os.path.join(self.base_dir, "postgres.log")

    def _launch(self) -> None:
        with open(self.log_path, "wb") as log:
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
        """Immediate shutdown (SIGQUIT): the data is thrown away anyway."""
        if self.child_process is None or self._owner_pid != os.getpid():
            return
        _kill_and_wait(self.child_process.pid)
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
            self._stopped = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.socket_dir}>"


# -- the per-process server, the throwaway check, the reaper ------------------

_process_server: ThrowawayServer | None = None
_process_lock = threading.Lock()


def process_server() -> ThrowawayServer:
    """This process's server, started on first use and stopped at exit.

    A forked child shares its parent's server; only the parent stops it.
    """
    global _process_server
    with _process_lock:
        if _process_server is None or not _process_server.is_server_available():
            if _process_server is not None:  # it died: clean up after it
                _process_server.stop()
            _process_server = ThrowawayServer.start()
            atexit.register(_process_server.stop)
        return _process_server


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
