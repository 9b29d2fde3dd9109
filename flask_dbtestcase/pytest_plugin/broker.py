"""pytest-xdist: one test database for the run, a copy of it for each worker.

As ``--parallel`` does, the controller owns the databases: on the first
worker's request it sets up the run's test database (and the project's
schema in it), then copies it for each worker that asks (``<name>_gw0``,
pytest-django's suffix). It destroys them all at the end, whatever the
workers did: a worker that crashed or was killed leaves nothing behind.
Nothing is set up until a worker's test needs a database; the workers ask
over a private Unix socket, authenticated with a key only they are given.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
import threading
import typing as t
from multiprocessing.connection import Client, Listener

from ..errors import ConfigurationError, DBTestCaseError
from .database import DatabaseOptions, set_up, tear_down

if t.TYPE_CHECKING:
    from ..databases.lifecycle import TestDatabases
    from ..settings import Settings

__all__ = ["Broker", "request_database"]


class Broker:
    """The controller's side: answer each worker's request with its copy of the database.

    :param options: the command line options.
    :param settings: the session's settings.
    """

    def __init__(self, options: DatabaseOptions, settings: Settings) -> None:
        self.options = options
        self.settings = settings
        self.authkey = secrets.token_bytes(32)
        self._dir = tempfile.mkdtemp(prefix="fdt-xdist-")
        self.address = os.path.join(self._dir, "broker")
        self._listener = Listener(self.address, family="AF_UNIX", authkey=self.authkey)
        self._databases: TestDatabases | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(
            target=self._serve, name="flask-dbtestcase-xdist-broker", daemon=True
        )
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn = self._listener.accept()
            except Exception:  # closed (the run ends), or a client without the key
                if self._closed:
                    return
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: t.Any) -> None:
        with conn:
            try:
                worker = str(conn.recv())
                conn.send(("ok", self.database_for(worker)))
            except DBTestCaseError as exc:
                conn.send(("error", str(exc)))
            except Exception as exc:
                conn.send(("error", f"{type(exc).__name__}: {exc}"))

    def database_for(self, worker: str) -> str:
        """Return the worker's copy of the run's test database, setting that up on first use.

        :param worker: the xdist worker's id (``gw0``).
        """
        from ..cases.testapp import prebuild_schema

        with self._lock:
            if self._closed:
                raise ConfigurationError("The test run is ending: no database is handed out.")
            if self._databases is None:
                databases = self._databases = set_up(self.options, self.settings)
                with contextlib.suppress(Exception):  # the workers build it then
                    prebuild_schema(databases, self.settings)
            return self._databases.clone(worker).render_as_string(hide_password=False)

    def close(self) -> None:
        """Stop answering; drop the copies and the database (unless ``--reuse-db``)."""
        with self._lock:
            self._closed = True
            databases, self._databases = self._databases, None
        with contextlib.suppress(Exception):
            self._listener.close()
        shutil.rmtree(self._dir, ignore_errors=True)
        if databases is not None:
            tear_down(databases, self.options)


def request_database(address: str, authkey: bytes, worker: str) -> str:
    """Ask the controller for this worker's test database; return its URL.

    :param address: the broker's socket.
    :param authkey: the key the controller gave the workers.
    :param worker: this worker's id (``gw0``).
    """
    try:
        with Client(address, family="AF_UNIX", authkey=authkey) as conn:
            conn.send(worker)
            status, value = conn.recv()
    except (OSError, EOFError) as exc:
        raise ConfigurationError(
            f"This pytest-xdist worker could not get its test database from the controller "
            f"({exc}). The controller may have been stopped; run the tests again."
        ) from None
    if status != "ok":
        raise ConfigurationError(str(value))
    return str(value)
