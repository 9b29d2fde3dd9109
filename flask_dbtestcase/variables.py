"""The environment variables flask-dbtestcase reads, each named once.

:mod:`.settings` reads them (and re-exports them); the modules that name one
in a message import it from here, so that a module low in the package (the
server layer) can say which variable to set without reading the settings.
"""

from __future__ import annotations

__all__ = [
    "CACHE_DIR_ENV",
    "DATABASE_URL_ENV",
    "DRIVER_ENV",
    "FLASK_APP_ENV",
    "FORCE_COLOR_ENV",
    "LOCK_TIMEOUT_ENV",
    "NO_COLOR_ENV",
    "PG_BIN_ENV",
    "POSTGRES_ENV",
    "RUNNER_ENV",
    "RUNTIME_DIR_ENV",
    "STATEMENT_TIMEOUT_ENV",
    "TEST_DATABASE_URL_ENV",
    "WORKER_ID_ENV",
]

#: The test database of the run (set by the runner for its child processes).
DATABASE_URL_ENV = "FLASK_DBTESTCASE_DATABASE_URL"
#: An existing server for the runner, as ``--database-url``.
TEST_DATABASE_URL_ENV = "TEST_DATABASE_URL"
#: The directory holding PostgreSQL's ``initdb`` and ``postgres``.
PG_BIN_ENV = "FLASK_DBTESTCASE_PG_BIN"
#: Where the server binaries come from: ``auto``, ``system`` or ``embedded``.
POSTGRES_ENV = "FLASK_DBTESTCASE_POSTGRES"
#: The initdb cache and ``--keepdb`` data.
CACHE_DIR_ENV = "FLASK_DBTESTCASE_CACHE_DIR"
#: The parent of the throwaway servers' directories.
RUNTIME_DIR_ENV = "FLASK_DBTESTCASE_RUNTIME_DIR"
#: The test databases' ``lock_timeout``.
LOCK_TIMEOUT_ENV = "FLASK_DBTESTCASE_LOCK_TIMEOUT"
#: The test databases' ``statement_timeout``.
STATEMENT_TIMEOUT_ENV = "FLASK_DBTESTCASE_STATEMENT_TIMEOUT"
#: A ``module:Class`` runner to use instead of ``DBTestRunner``.
RUNNER_ENV = "FLASK_DBTESTCASE_RUNNER"
#: The number of a ``--parallel`` worker, in its environment (1, 2, ...).
WORKER_ID_ENV = "FLASK_DBTESTCASE_WORKER_ID"
#: The PostgreSQL driver: ``psycopg`` (3) or ``psycopg2``.
DRIVER_ENV = "FLASK_DBTESTCASE_DRIVER"
#: Flask's own variable naming the app, read as the last resort.
FLASK_APP_ENV = "FLASK_APP"
#: The common convention (no-color.org): set and not empty, the runner prints no colour.
NO_COLOR_ENV = "NO_COLOR"
#: The common convention (force-color.org): set and not empty, colour even without a terminal.
FORCE_COLOR_ENV = "FORCE_COLOR"
