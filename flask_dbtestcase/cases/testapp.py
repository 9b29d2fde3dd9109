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
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event

from ..databases.lifecycle import TestDatabases
from ..databases.safety import check_test_database
from ..databases.schema import build_schema
from ..databases.urls import parse_url, render_url, same_database
from ..errors import ConfigurationError, IsolationError, UnsafeDatabaseError
from ..isolation.engines import SUPPORTED_DRIVERS
from ..settings import Settings
from .binds import BindPlan, planning_binds, settle_config
from .factory import (
    call_factory,
    factory_call,
    from_object_advice,
    from_object_reason,
    resolve_factory,
)

__all__ = [
    "build_config",
    "check_engines",
    "find_db",
    "limit_to_databases",
    "prebuild_schema",
    "warn_unapplied_options",
]


def build_config(
    main: sa.URL, binds: dict[str, t.Any] | None, extra: t.Mapping[str, t.Any]
) -> dict[str, t.Any]:
    """Return the config mapping the app factory is called with.

    :param main: the test database.
    :param binds: ``SQLALCHEMY_BINDS`` pointing at the binds' test databases.
    :param extra: the test class's ``config``, applied last.
    """
    config: dict[str, t.Any] = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": main.render_as_string(hide_password=False),
    }
    if binds:
        config["SQLALCHEMY_BINDS"] = binds
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


def find_db(app: Flask, given: SQLAlchemy | None, owner: str) -> SQLAlchemy:
    """Return the app's Flask-SQLAlchemy extension, or ``given`` when set.

    :param app: the app built for the test class.
    :param given: the test class's own ``db``.
    :param owner: the test class's name, for the error message.
    """
    db = given or app.extensions.get("sqlalchemy")
    if not isinstance(db, SQLAlchemy):
        raise ConfigurationError(
            f"The app built for {owner} has no Flask-SQLAlchemy extension. Did you "
            "forget to call 'db.init_app(app)' in the app factory? (Or set "
            "'db = ...' on the test class.)"
        )
    return db


def check_engines(
    engines: t.Mapping[t.Any, sa.Engine],
    main: sa.URL,
    owner: str,
    app: Flask,
    plan: BindPlan | None = None,
) -> None:
    """Refuse to go on unless every engine points at its test database.

    The refusal says why, when it can tell: the factory takes no argument,
    it passed the mapping to ``app.config.from_object()``, or it called
    ``db.init_app(app)`` before applying the config.

    :param engines: the app's engines, by bind key (``None``: the main one).
    :param main: the test database.
    :param owner: the test class's name, for the error message.
    :param app: the app the engines belong to.
    :param plan: where its binds go (default: a test database each).
    """
    plan = plan or BindPlan(main)
    for key, engine in engines.items():
        expected = plan.expected(key)
        what = "its database" if key is None else f"its bind {key!r}"
        if not _is_postgresql(engine.url) or not same_database(engine.url, expected):
            raise UnsafeDatabaseError(_pointing_elsewhere(app, key, engine.url, expected, owner))
        if engine.dialect.driver not in SUPPORTED_DRIVERS:
            raise ConfigurationError(_unsupported_driver(owner, what, engine))
        check_test_database(engine.url, "run tests")


def _is_postgresql(url: sa.URL) -> bool:
    """Tell whether an engine's URL is a PostgreSQL one (SQLite, MySQL: not).

    :param url: the engine's URL.
    """
    return url.get_backend_name() == "postgresql"


def _unsupported_driver(owner: str, what: str, engine: sa.Engine) -> str:
    """Say that an engine on the test database uses a driver the framework cannot pin."""
    return (
        f"The app built for {owner} reaches the test database through a driver "
        f"flask-dbtestcase does not support: {what} uses {engine.dialect.driver} "
        f"({render_url(engine.url)}). Nothing was run against it. flask-dbtestcase "
        "isolates tests on psycopg (postgresql+psycopg://) and psycopg2 "
        "(postgresql+psycopg2://): use one of them for the tests, for example by "
        "applying the SQLALCHEMY_DATABASE_URI of the config mapping the factory is given."
    )


def _ignored(owner: str, what: str, url: sa.URL, expected: sa.URL) -> str:
    """Say that the app did not use the test configuration (the general case)."""
    return (
        f"The app built for {owner} ignored the test configuration: {what} "
        f"points at {render_url(url)}, not at the test database "
        f"{render_url(expected)}. Nothing was run against it. Make the app "
        "factory apply the config mapping it is given (app.config.update(config)) "
        "after loading its own settings, and before calling db.init_app(app)."
    )


def _overridden(owner: str, factory: str, setting: str, url: sa.URL, there: str) -> str:
    """Say that the factory applied the test configuration, then set the database itself.

    :param owner: the test class's name.
    :param factory: the app factory, as the message names it.
    :param setting: the config key the factory set (``SQLALCHEMY_DATABASE_URI``).
    :param url: where the engine points.
    :param there: where it points, and where it should.
    """
    backend = url.get_backend_name()
    engine = "" if _is_postgresql(url) else f" (a {backend} database: the tests need PostgreSQL)"
    return (
        f"The app built for {owner} overrode the test configuration: {factory} applied "
        f"the config mapping it was given (TESTING is set), then set {setting} itself, "
        f"so {there}{engine}. Nothing was run against it. In the factory, apply the "
        f"mapping after its own settings (app.config.update(config) below the line "
        f"that sets {setting}, and above db.init_app(app)), or set {setting} only "
        f'when the mapping has none: app.config.setdefault("{setting}", ...).'
    )


def _configured_url(app: Flask, key: str | None) -> t.Any:
    """Return the URL the app's config holds for ``key`` (``None``: the main database).

    :param app: the app.
    :param key: a bind key, or ``None``.
    """
    if key is None:
        return app.config.get("SQLALCHEMY_DATABASE_URI")
    bind = (app.config.get("SQLALCHEMY_BINDS") or {}).get(key)
    return bind.get("url") if isinstance(bind, dict) else bind


def _names_database(value: t.Any, expected: sa.URL) -> bool:
    """Tell whether a config value is a URL of the database ``expected``.

    :param value: a configured URL (a string, a URL, or anything else).
    :param expected: the test database.
    """
    try:
        return isinstance(value, (str, sa.URL)) and same_database(parse_url(value), expected)
    except Exception:  # not a URL at all
        return False


def _pointing_elsewhere(
    app: Flask, key: str | None, url: sa.URL, expected: sa.URL, owner: str
) -> str:
    """Say why an engine points at another database than its test database.

    :param app: the app.
    :param key: the engine's bind key (``None``: the main one).
    :param url: where the engine points.
    :param expected: its test database.
    :param owner: the test class's name.
    """
    what = "its database" if key is None else f"its bind {key!r}"
    setting = "SQLALCHEMY_DATABASE_URI" if key is None else f"SQLALCHEMY_BINDS[{key!r}]"
    call = factory_call(app)
    factory = f"the app factory '{call.name}'" if call else "the app factory"
    there = f"{what} points at {render_url(url)}, not at the test database {render_url(expected)}"
    if _names_database(_configured_url(app, key), expected):
        return (
            f"The app built for {owner} applied the test configuration too late: its "
            f"config has {setting} set to the test database, but {there}, because "
            "db.init_app(app) ran before the config was applied (Flask-SQLAlchemy "
            "creates the engines in init_app, from the config as it is at that "
            f"moment). Nothing was run against it. In {factory}, move "
            "app.config.update(config) above db.init_app(app)."
        )
    if call is not None and not call.passed_config:
        return (
            f"The app built for {owner} never got the test configuration: {factory} "
            "takes no (positional) argument, so flask-dbtestcase could not hand it the config "
            f"mapping, and {there}. Nothing was run against it. Make the factory accept "
            f"the mapping, def {call.function}(config=None), and apply it after loading "
            "the app's own settings and before db.init_app(app): "
            "app.config.update(config or {})."
        )
    if call is not None and call.read_as_object:
        return (
            f"The app built for {owner} never got the test configuration: "
            f"{from_object_reason(call)}, and {there}. Nothing was run against it. "
            f"{from_object_advice(call)}"
        )
    if call is not None and app.config.get("TESTING") is True:
        return _overridden(owner, factory, setting, url, there)
    return _ignored(owner, what, url, expected)


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
    plan = BindPlan(main, create=databases.create_database)
    with planning_binds(plan):  # binds on test databases, as the classes get them
        app = call_factory(resolve_factory(spec), build_config(main, None, {}))
    settle_config(app)
    db = find_db(app, None, spec)
    with app.app_context():
        engines = dict(db.engines)
        try:
            if set(engines) != {None}:
                return "the app has binds: each worker builds its schema"
            check_engines(engines, main, spec, app)
            build_schema(
                app, db.metadatas, engines, databases.marks,
                settings.schema, settings.migrations_directory,
            )  # fmt: skip
        finally:
            for engine in engines.values():
                engine.dispose()
    return f"schema of {spec} built once, before cloning"
