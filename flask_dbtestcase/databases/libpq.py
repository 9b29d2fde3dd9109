"""libpq's environment, and connections to the throwaway server it cannot redirect.

libpq fills every parameter a connection does not give from the environment:
``PGHOSTADDR`` sends a connection whose ``host`` is a socket directory over
TCP to another server, ``PGPORT`` picks another socket, ``PGSERVICE`` fills
in a service's parameters, ``PGTARGETSESSIONATTRS`` or ``PGREQUIREAUTH`` can
make it fail. Both drivers go through libpq. So every connection to the
throwaway server (the framework's own, and every SQLAlchemy engine of the
process once a throwaway server is in use: :func:`guard_engines`) names each
parameter that decides where it goes and whether it succeeds
(:func:`harden`). A server the user named (``--database-url``) is theirs:
their environment applies to it as it would to any client of theirs.
"""

from __future__ import annotations

import os
import typing as t

from sqlalchemy import event
from sqlalchemy.engine import Engine

from ..postgres.identity import SERVER_PORT, throwaway_data_dir

__all__ = [
    "LIBPQ_ENVIRONMENT",
    "guard_engines",
    "harden",
    "libpq_environment",
    "libpq_version",
]

#: Every environment variable libpq reads (libpq's "Environment Variables").
LIBPQ_ENVIRONMENT = (
    "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD",
    "PGPASSFILE", "PGREQUIREAUTH", "PGCHANNELBINDING", "PGSERVICE", "PGSERVICEFILE",
    "PGSYSCONFDIR", "PGOPTIONS", "PGAPPNAME", "PGSSLMODE", "PGREQUIRESSL",
    "PGSSLNEGOTIATION", "PGSSLCOMPRESSION", "PGSSLCERT", "PGSSLKEY", "PGSSLCERTMODE",
    "PGSSLROOTCERT", "PGSSLCRL", "PGSSLCRLDIR", "PGSSLSNI", "PGREQUIREPEER",
    "PGSSLMINPROTOCOLVERSION", "PGSSLMAXPROTOCOLVERSION", "PGGSSENCMODE",
    "PGKRBSRVNAME", "PGGSSLIB", "PGGSSDELEGATION", "PGCONNECT_TIMEOUT",
    "PGCLIENTENCODING", "PGTARGETSESSIONATTRS", "PGLOADBALANCEHOSTS",
    "PGMINPROTOCOLVERSION", "PGMAXPROTOCOLVERSION", "PGDATESTYLE", "PGTZ", "PGGEQO",
    "PGLOCALEDIR",
)  # fmt: skip

# The parameters that decide where a connection goes and whether it is
# accepted, each with the value that means "nothing" on a local socket, and
# the libpq version that knows it (an older libpq refuses an unknown one; its
# variable does not exist there either). An empty value is a given value:
# libpq then reads no variable for it.
_NEUTRAL: tuple[tuple[str, str, int], ...] = (
    ("hostaddr", "", 0),
    ("options", "", 0),
    ("sslmode", "disable", 0),
    ("sslrootcert", "", 0),
    ("requirepeer", "", 0),
    ("target_session_attrs", "any", 100000),
    ("gssencmode", "disable", 120000),
    ("channel_binding", "disable", 130000),
    ("require_auth", "", 160000),
    ("sslcertmode", "disable", 160000),
    ("load_balance_hosts", "disable", 160000),
    ("sslnegotiation", "postgres", 170000),
    ("min_protocol_version", "3.0", 180000),
)

#: Set by the application when it gives them itself (its engine's ``connect_args``).
_APP_MAY_SET = frozenset({"options"})


def libpq_version(driver: str) -> int:
    """Return the version of the libpq the driver ``driver`` runs on (e.g. 170002).

    :param driver: ``"psycopg"`` or ``"psycopg2"``.
    """
    if driver == "psycopg":
        import psycopg

        return int(psycopg.pq.version())
    import psycopg2.extensions

    return int(psycopg2.extensions.libpq_version())


def harden(params: dict[str, t.Any], driver: str, port: int = SERVER_PORT) -> dict[str, t.Any]:
    """Add to a throwaway server's connection parameters what libpq's environment could change.

    The socket directory (``host``), the user and the database are given by
    the caller; the port, the address and the rest are fixed here.

    :param params: the connection's keyword arguments (changed in place and returned).
    :param driver: the driver that connects (its libpq decides what it knows).
    :param port: the server's port (its socket's name).
    """
    version = libpq_version(driver)
    params.setdefault("port", port)
    for name, value, since in _NEUTRAL:
        if version >= since:
            if name in _APP_MAY_SET:
                params.setdefault(name, value)
            else:
                params[name] = value
    return params


def libpq_environment(environ: t.Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the libpq variables set in the environment, by name.

    :param environ: the environment (default: this process's).
    """
    env = os.environ if environ is None else environ
    return {name: env[name] for name in LIBPQ_ENVIRONMENT if env.get(name)}


def _guard(dialect: t.Any, conn_rec: t.Any, cargs: t.Any, cparams: dict[str, t.Any]) -> None:
    """``do_connect``: a connection to a throwaway server names everything libpq needs."""
    host = cparams.get("host")
    if isinstance(host, str) and throwaway_data_dir(host) is not None:
        harden(cparams, dialect.driver)


def guard_engines() -> None:
    """Harden every SQLAlchemy engine's connections to a throwaway server (once per process).

    Called when this process first uses a throwaway server, before any app
    is built: an engine the app makes itself, however it got the URL, then
    reaches that server whatever libpq's environment says.
    """
    if not event.contains(Engine, "do_connect", _guard):
        event.listen(Engine, "do_connect", _guard)
