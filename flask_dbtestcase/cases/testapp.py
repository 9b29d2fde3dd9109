"""Building a test class's app against the test database, and checking it does.

The test database comes from the runner (``FLASK_DBTESTCASE_DATABASE_URL``)
or from this process's throwaway server. The app factory gets the test
config; afterwards every engine must point at the test database it was given
(and binds at test databases of their own) before anything is run on it.
"""

from __future__ import annotations

import typing as t
import warnings

import sqlalchemy as sa
from sqlalchemy import event

from ..databases.lifecycle import TestDatabases
from ..errors import ConfigurationError, IsolationError
from ..settings import Settings
from .appkinds import PlainSettings, find_app_database
from .appschema import build_app_schema
from .binds import BindPlan, planning_binds, settle_config
from .enginechecks import check_app_engines, check_engines
from .factory import call_factory, resolve_factory

__all__ = [
    "build_config",
    "check_engines",
    "limit_to_databases",
    "prebuild_schema",
    "warn_unapplied_options",
]


def build_config(
    main: sa.URL,
    binds: dict[str, t.Any] | None,
    extra: t.Mapping[str, t.Any],
    database_url_key: str | None = None,
) -> dict[str, t.Any]:
    """Return the config mapping the app factory is called with.

    The test database's URL is there under each key an app may read it
    from: Flask-SQLAlchemy's ``SQLALCHEMY_DATABASE_URI``,
    Flask-SQLAlchemy-Lite's ``SQLALCHEMY_ENGINES["default"]`` (while the
    factory runs, the app's other named engines are pointed at test
    databases of their own: :mod:`.binds`), and the key a plain SQLAlchemy
    app names.

    :param main: the test database.
    :param binds: ``SQLALCHEMY_BINDS`` pointing at the binds' test databases.
    :param extra: the test class's ``config``, applied last.
    :param database_url_key: the config key a plain SQLAlchemy app reads its URL from.
    """
    url = main.render_as_string(hide_password=False)
    config: dict[str, t.Any] = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINES": {"default": url},
    }
    if binds:
        config["SQLALCHEMY_BINDS"] = binds
    if database_url_key:
        config[database_url_key] = url
    config.update(extra)
    return config


def warn_unapplied_options(engines: t.Mapping[t.Any, sa.Engine], owner: str) -> None:
    """Warn once per engine about options one shared transaction cannot apply.

    An isolation level other than READ COMMITTED or AUTOCOMMIT, and
    ``postgresql_readonly`` / ``postgresql_deferrable``, are not applied: every
    statement runs in the class's transaction.

    :param engines: the app's engines, by bind key (``None``: the main one).
    :param owner: the test class's name, for the message.
    """
    for key, engine in engines.items():
        options = engine.get_execution_options()
        level = options.get("isolation_level") or getattr(
            engine.dialect, "_on_connect_isolation_level", None
        )
        unapplied = []
        if level and str(level).upper() not in ("READ COMMITTED", "AUTOCOMMIT"):
            unapplied.append(f"isolation_level={level!r}")
        unapplied += [f"{name}=True" for name in _SESSION_OPTIONS if options.get(name)]
        if not unapplied:
            continue
        what = "its database" if key is None else f"its bind {key!r}"
        warnings.warn(
            f"The app built for {owner} sets {' and '.join(unapplied)} on the engine of "
            f"{what}, which FlaskDBTestCase cannot apply: every statement of a test runs "
            "in the class's one READ COMMITTED transaction on a shared connection. Code "
            "that depends on it behaves differently here than in production. Test it in "
            "a FlaskDBTransactionTestCase, whose connections are the engine's own.",
            UserWarning,
            stacklevel=2,
        )


#: Engine execution options that would change the transaction itself.
_SESSION_OPTIONS = ("postgresql_readonly", "postgresql_deferrable")


def limit_to_databases(
    engines: dict[t.Any, sa.Engine], databases: str | t.Collection[str], owner: str
) -> tuple[dict[t.Any, sa.Engine], list[t.Callable[[], None]]]:
    """Keep the engines ``databases`` names; make the others refuse statements.

    Returns the engines kept, and what undoes the refusals (the app is shared
    with other classes).

    :param engines: the app's engines, by bind key (``None``: the main one).
    :param databases: ``"__all__"``, or names from ``"default"`` and the bind keys.
    :param owner: the test class's name, for the messages.
    """
    if databases == "__all__":
        return engines, []
    wanted = {databases} if isinstance(databases, str) else set(databases)
    names = {("default" if key is None else key): key for key in engines}
    unknown = wanted - set(names)
    if unknown:
        raise ConfigurationError(
            f"{owner}.databases names {', '.join(sorted(map(repr, unknown)))}, but the "
            f"app's databases are {', '.join(sorted(map(repr, names)))} ('default' is "
            "SQLALCHEMY_DATABASE_URI, the others are SQLALCHEMY_BINDS keys)."
        )
    undo = [
        _refuse_statements(engines[key], name, owner)
        for name, key in names.items()
        if name not in wanted
    ]
    kept = {names[name]: engines[names[name]] for name in names if name in wanted}
    return kept, undo


def _refuse_statements(engine: sa.Engine, name: str, owner: str) -> t.Callable[[], None]:
    """Make ``engine`` refuse every statement; return what undoes it.

    :param engine: an engine of the app under test.
    :param name: its bind key (or ``"default"``), for the message.
    :param owner: the test class's name, for the message.
    """

    def refuse(*args: t.Any) -> t.NoReturn:
        raise IsolationError(
            f"Database queries to {name!r} are not allowed in {owner}: it is not "
            f"in {owner}.databases, so nothing would isolate them. Add {name!r} "
            f"to {owner}.databases."
        )

    event.listen(engine, "before_cursor_execute", refuse)
    return lambda: event.remove(engine, "before_cursor_execute", refuse)


def prebuild_schema(databases: TestDatabases, settings: Settings) -> str:
    """Build the default app's schema in the test database before it is cloned for workers.

    With ``--parallel`` each worker gets a clone of the test database; built
    here once, the schema comes with every clone and the workers find it
    (its fingerprint matches, or the migrations are at head). Only the
    project's default app factory is used, and only for an app without
    binds (whose migrations could reach other databases). Returns what was
    done, for the log.

    :param databases: the run's test databases, before the test database is cloned.
    :param settings: the run's settings (the default factory, the schema source).
    """
    spec = settings.factory_spec
    if not spec:
        return "no default app factory: each worker builds its schema"
    main = databases.url
    plain = PlainSettings(settings.metadata, settings.session, settings.database_url_key)
    plan = BindPlan(main, create=databases.create_database)
    with planning_binds(plan):  # binds on test databases, as the classes get them
        config = build_config(main, None, {}, plain.database_url_key)
        app = call_factory(resolve_factory(spec), config)
    settle_config(app)
    own: list[sa.Engine] = []
    with app.app_context():
        found = find_app_database(app, None, spec, plain)
        engines = dict(found.engines)
        try:
            if set(engines) - {None}:
                return "the app has binds: each worker builds its schema"
            check_app_engines(found, main, spec, app, plan, plain.database_url_key)
            if None not in engines:  # a plain app that makes its engine later
                engines[None] = sa.create_engine(main)
                own.append(engines[None])
            build_app_schema(
                app, found, engines, databases.marks, spec,
                settings.schema, settings.migrations_directory,
            )  # fmt: skip
        finally:
            for engine in [*found.all_engines(), *own]:
                engine.dispose()
    return f"schema of {spec} built once, before cloning"
