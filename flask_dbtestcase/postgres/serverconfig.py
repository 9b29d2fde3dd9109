"""What the throwaway server is configured by: one frozen value, handed down.

The settings (:mod:`flask_dbtestcase.settings`) build it once, at the edge
(:meth:`~flask_dbtestcase.settings.Settings.server_config`); every function
of the server layer that needs part of it takes it as an argument, and none
reads the settings itself.
"""

from __future__ import annotations

import dataclasses

__all__ = ["ServerConfig"]


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """The throwaway server's configuration (each field is a setting of the same name).

    :param pg_bin: the directory holding ``initdb`` and ``postgres``; ``None``: look for them.
    :param postgres: where the binaries come from: ``auto``, ``system`` or ``embedded``
        (checked where it is used: :func:`~.binaries.postgres_choice`).
    :param cache_dir: the initdb cache and ``--keepdb`` data; ``None``: ``~/.cache``'s.
    :param runtime_dir: the parent of the servers' directories to try first; ``None``:
        ``/dev/shm``, then the temp dir.
    :param lock_timeout: the server's ``lock_timeout``, as PostgreSQL reads it (``"10s"``).
    :param statement_timeout: the server's ``statement_timeout`` (``"0"``: off).
    """

    pg_bin: str | None
    postgres: str
    cache_dir: str | None
    runtime_dir: str | None
    lock_timeout: str
    statement_timeout: str
