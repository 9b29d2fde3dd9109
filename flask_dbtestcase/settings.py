"""Every setting flask-dbtestcase reads, declared once, read into one object.

A setting comes from an environment variable, from ``[tool.flask-dbtestcase]``
in the nearest ``pyproject.toml``, or from both (the environment wins).
:data:`SETTINGS` declares each one with its default and its meaning (the
configuration reference is generated from it); :meth:`Settings.load` reads
them all into a :class:`Settings`. Nothing else in the package reads
``os.environ`` for its own configuration; the variables are named in
:mod:`.variables`. Only the edges read the settings (the runner, the pytest
plugin, the first test class of a run with neither); the layers below get
their part as arguments: the server layer a
:class:`~.postgres.serverconfig.ServerConfig` (:meth:`Settings.server_config`),
the databases layer a :class:`~.databases.config.DatabasesConfig`
(:meth:`Settings.databases_config`). The test classes read the settings of
the run they belong to (:mod:`.state`).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import typing as t
from pathlib import Path

from .errors import ConfigurationError
from .postgres.serverconfig import ServerConfig
from .projectfile import TABLE, read_pyproject
from .variables import (
    CACHE_DIR_ENV,
    DATABASE_URL_ENV,
    DRIVER_ENV,
    FLASK_APP_ENV,
    FORCE_COLOR_ENV,
    LOCK_TIMEOUT_ENV,
    NO_COLOR_ENV,
    PG_BIN_ENV,
    POSTGRES_ENV,
    RUNNER_ENV,
    RUNTIME_DIR_ENV,
    STATEMENT_TIMEOUT_ENV,
    TEST_DATABASE_URL_ENV,
    WORKER_ID_ENV,
)

if t.TYPE_CHECKING:
    from .databases.config import DatabasesConfig

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
    "SETTINGS",
    "STATEMENT_TIMEOUT_ENV",
    "Setting",
    "Settings",
    "TEST_DATABASE_URL_ENV",
    "WORKER_ID_ENV",
    "RUNNER_ONLY",
    "ignored_settings",
    "read_pyproject",
]


@dataclasses.dataclass(frozen=True)
class Setting:
    """One setting: where it is read from, its default, what it means."""

    name: str
    env: str | None
    pyproject: str | None
    default: str | None
    doc: str


#: Every setting, in the order of the configuration reference.
SETTINGS: tuple[Setting, ...] = (
    Setting("app_factory", None, "app_factory", None,
            "The app factory, ``\"module:function\"``, for test classes that set none."),
    Setting("flask_app", FLASK_APP_ENV, None, None,
            "Flask's own app variable: the app factory when nothing else names one."),
    Setting("schema", None, "schema", "create_all",
            "How the tables are built: ``create_all`` or ``migrations`` (Flask-Migrate)."),
    Setting("migrations_directory", None, "migrations_directory", None,
            "The Flask-Migrate directory, when it is not the app's own (``migrations`` "
            "by default, in the current directory); relative to the pyproject.toml."),
    Setting("check_migrations", None, "check_migrations", "false",
            "With ``schema = \"migrations\"``: fail when the models have changes no "
            "migration makes (Django's ``makemigrations --check``)."),
    Setting("mirrors", None, "mirrors", None,
            "Binds that use another database's test database, as Django's TEST MIRROR: "
            "``{replica = \"default\"}``. A bind whose URL is the default database's "
            "mirrors it without this."),
    Setting("metadata", None, "metadata", None,
            "The MetaData the schema is built from, ``\"myapp.models:Base.metadata\"``, "
            "for an app on Flask-SQLAlchemy-Lite or plain SQLAlchemy (a table "
            "``{default = ..., reports = ...}`` names one per Lite engine). A "
            "Flask-SQLAlchemy app's is ``db.metadata``, found without it."),
    Setting("database_url_key", None, "database_url_key", None,
            "The config key a plain SQLAlchemy app reads its database URL from "
            "(``\"DATABASE_URL\"``): the test config mapping carries the test URL under it."),
    Setting("session", None, "session", None,
            "A plain SQLAlchemy app's ``scoped_session``, ``\"myapp.db:Session\"``: "
            "``self.session`` and the ``db_session`` fixture (default: the one the app "
            "keeps in ``app.extensions``)."),
    Setting("database_url", DATABASE_URL_ENV, None, None,
            "A test database to use as it is (the runner sets it for child processes)."),
    Setting("test_database_url", TEST_DATABASE_URL_ENV, None, None,
            "An existing server for the runner: it creates ``test_<name>`` there."),
    Setting("pg_bin", PG_BIN_ENV, None, None,
            "The directory holding PostgreSQL's ``initdb`` and ``postgres``."),
    Setting("postgres", POSTGRES_ENV, None, "auto",
            "Where the server binaries come from: ``auto``, ``system`` or ``embedded``."),
    Setting("cache_dir", CACHE_DIR_ENV, None, None,
            "The initdb cache and ``--keepdb`` data (default ``~/.cache/flask-dbtestcase``)."),
    Setting("runtime_dir", RUNTIME_DIR_ENV, None, None,
            "Where the throwaway servers' directories go (default ``/dev/shm`` or the temp dir)."),
    Setting("lock_timeout", LOCK_TIMEOUT_ENV, None, "10s",
            "The test databases' ``lock_timeout`` (``0`` for none), on the throwaway "
            "server and on an existing one."),
    Setting("statement_timeout", STATEMENT_TIMEOUT_ENV, None, "0",
            "The test databases' ``statement_timeout`` (``0``: off)."),
    Setting("runner", RUNNER_ENV, None, None,
            "A ``module:Class`` test runner to use instead of ``DBTestRunner``."),
    Setting("driver", DRIVER_ENV, "driver", None,
            "The PostgreSQL driver, ``psycopg`` (3) or ``psycopg2`` (default: the one "
            "SQLAlchemy uses for ``postgresql://`` when installed, else the other)."),
    Setting("no_color", NO_COLOR_ENV, None, None,
            "Set and not empty: the runner's output has no colour (as ``--no-color``)."),
    Setting("force_color", FORCE_COLOR_ENV, None, None,
            "Set and not empty: the runner's output has colour even without a terminal "
            "(``NO_COLOR`` and ``--no-color`` win)."),
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Settings:
    """The settings of this process, as :data:`SETTINGS` declares them."""

    app_factory: str | None = None
    flask_app: str | None = None
    schema: str = "create_all"
    migrations_directory: str | None = None
    check_migrations: bool = False
    mirrors: dict[str, str] | None = None
    metadata: t.Any = None
    database_url_key: str | None = None
    session: str | None = None
    database_url: str | None = None
    test_database_url: str | None = None
    pg_bin: str | None = None
    postgres: str = "auto"
    cache_dir: str | None = None
    runtime_dir: str | None = None
    lock_timeout: str = "10s"
    statement_timeout: str = "0"
    runner: str | None = None
    driver: str | None = None
    no_color: str | None = None
    force_color: str | None = None
    #: The app ``flask test`` found (``flask --app``), set by the runner.
    cli_app: str | None = None
    #: The pyproject.toml the project settings came from, if any.
    pyproject_path: str | None = None

    @classmethod
    def load(
        cls,
        environ: t.Mapping[str, str] | None = None,
        start: str | os.PathLike[str] | None = None,
    ) -> Settings:
        """Read every setting from the environment and pyproject.toml.

        :param environ: the environment to read (default: ``os.environ``).
        :param start: where to look for pyproject.toml (default: the
            current directory and its parents).
        """
        env = os.environ if environ is None else environ
        directory = os.fspath(start) if start is not None else os.getcwd()
        read = tuple(env.get(name, "") for name in _ENV_NAMES)
        loaded = _load(directory, read)
        return loaded if cls is Settings else cls(**dataclasses.asdict(loaded))

    @property
    def factory_spec(self) -> str | None:
        """The app factory named by pyproject.toml, ``flask test`` or ``FLASK_APP``.

        The first of the three, in that order, that names one wins.
        """
        return self.app_factory or self.cli_app or self.flask_app

    def overridden(self, cli_app: str | None = None, migrations: bool | None = None) -> Settings:
        """Return these settings with what the command line decided.

        :param cli_app: the app ``flask test`` found (``flask --app``).
        :param migrations: ``--migrations`` (True) / ``--no-migrations`` (False); None: as set.
        """
        changes: dict[str, t.Any] = {}
        if cli_app:
            changes["cli_app"] = cli_app
        if migrations is not None:
            changes["schema"] = "migrations" if migrations else "create_all"
        return dataclasses.replace(self, **changes) if changes else self

    def server_config(self) -> ServerConfig:
        """Return the throwaway server's part of the settings, for the server layer."""
        return ServerConfig(
            pg_bin=self.pg_bin,
            postgres=self.postgres,
            cache_dir=self.cache_dir,
            runtime_dir=self.runtime_dir,
            lock_timeout=self.lock_timeout,
            statement_timeout=self.statement_timeout,
        )

    def databases_config(self) -> DatabasesConfig:
        """Return what the databases layer needs of these settings (the driver chosen now)."""
        # Imported here: they load SQLAlchemy, and the runner's --help must stay fast.
        from .databases.config import DatabasesConfig
        from .databases.creation import Timeouts
        from .databases.drivers import choose_driver

        return DatabasesConfig(
            driver=choose_driver(self.driver).name,
            server=self.server_config(),
            timeouts=Timeouts(self.lock_timeout, self.statement_timeout),
            given_url=self.database_url,
            existing_server=self.test_database_url,
        )


#: The variables Settings.load reads, in the order of SETTINGS.
_ENV_NAMES = tuple(setting.env for setting in SETTINGS if setting.env is not None)
#: The settings that are true or false (TOML booleans).
_BOOLEANS = frozenset({"check_migrations"})
#: The settings that are paths: relative to the pyproject.toml they are read from.
_PATHS = frozenset({"migrations_directory"})


@functools.lru_cache(maxsize=32)
def _load(directory: str, read: tuple[str, ...]) -> Settings:
    """Build the settings from the variables' values and the project's table.

    Cached: the settings are read on every class's set-up, and only change
    with the directory, the environment or (for a new process) the file.
    """
    env = dict(zip(_ENV_NAMES, read))
    project = read_pyproject(str(Path(directory).resolve()))
    path = project.get("_path")
    values: dict[str, t.Any] = {"pyproject_path": path}
    for setting in SETTINGS:
        value: t.Any = None
        if setting.env is not None:
            value = env[setting.env].strip() or None
        if value is None and setting.pyproject is not None:
            value = project.get(setting.pyproject)
            if setting.name in _BOOLEANS:
                values[setting.name] = _boolean(setting.pyproject, value, path)
                continue
            value = value or None
            if value is not None and path is not None and setting.name in _PATHS:
                value = str(Path(path).parent / value)  # a path in a file is relative to it
        values[setting.name] = setting.default if value is None else value
    return Settings(**values)


def _boolean(key: str, value: t.Any, path: str | None) -> bool:
    """Return a true-or-false setting of the pyproject.toml table (absent: false)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    raise ConfigurationError(
        f"{key} under [tool.flask-dbtestcase] in {path} must be true or false (a TOML "
        f"boolean, without quotes), not {value!r}."
    )


#: The settings only the runner reads: a run without it (``python -m
#: unittest``, pytest) ignores them.
RUNNER_ONLY = ("test_database_url", "runner")


def ignored_settings(settings: Settings, under_runner: bool) -> str | None:
    """Say, in one paragraph, which of the settings given this run ignores; ``None``: none.

    Without the runner, the runner-only settings (:data:`RUNNER_ONLY`) are
    ignored; in every run, a ``[tool.flask-dbtestcase]`` key that is no
    setting (a runner option such as ``keepdb``, a typo) is.

    :param settings: the settings of the run.
    :param under_runner: whether the runner runs the tests.
    """
    parts = []
    if not under_runner and not settings.database_url:
        given = [s.env for s in SETTINGS if s.name in RUNNER_ONLY and getattr(settings, s.name)]
        if given:
            parts.append(
                f"{' and '.join(t.cast('list[str]', given))} "
                f"{'is' if len(given) == 1 else 'are'} read by the runner only "
                "(python -m flask_dbtestcase, flask dbtest): this run, without it, ignores "
                f"{'it' if len(given) == 1 else 'them'} and starts a throwaway PostgreSQL "
                "server of its own. Run the tests with the runner, or, to use an existing "
                f"server, set {DATABASE_URL_ENV} to a test_ database that exists."
            )
    if settings.pyproject_path:
        table = read_pyproject(str(Path(settings.pyproject_path).parent))
        if "_misspelt" in table:
            parts.append(
                f"the table [tool.{table['_misspelt']}] in {settings.pyproject_path} is not "
                f"read, so none of its settings apply: the table is spelt "
                f"[tool.{TABLE}], with a hyphen, as the package's name. Rename it."
            )
        known = {s.pyproject for s in SETTINGS if s.pyproject}
        unknown = sorted(key for key in table if not key.startswith("_") and key not in known)
        if unknown:
            parts.append(
                f"[tool.flask-dbtestcase] in {settings.pyproject_path} has "
                f"{'a key' if len(unknown) == 1 else 'keys'} flask-dbtestcase does not read: "
                f"{', '.join(unknown)}. The settings there are {', '.join(sorted(known))}; "
                "the runner's options (--keepdb, --parallel, ...) are given on its command "
                "line, or set in a DBTestRunner subclass (--runner)."
            )
    if not parts:
        return None
    return "flask-dbtestcase ignores some of the settings given: " + " ".join(parts)
