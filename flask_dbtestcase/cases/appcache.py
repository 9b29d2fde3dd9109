"""One app per app factory and config for the whole run, as production has one.

Production calls the app factory once. Factories that connect signal
receivers or fill module state are not idempotent, and each new app costs
new engines (dialect initialisation, a cold statement cache); so the test
classes that ask for the same app (the same factory, ``create_app`` and
``config``, on the same test database) share one, built on first use. A
class with ``own_app = True`` gets an app of its own, dropped after it.
"""

from __future__ import annotations

import dataclasses
import functools
import typing as t
import weakref

import sqlalchemy as sa
from flask import Flask

from ..databases.lifecycle import TestDatabases
from ..databases.safety import check_test_database
from ..isolation.engines import Pins
from . import clients
from .appkinds import EXTENSION_KEY, AppDatabase, PlainSettings, find_app_database
from .binds import BindPlan, bind_test_databases, planning_binds, settle_config, stray_binds
from .enginechecks import check_app_engines
from .testapp import build_config, warn_unapplied_options

__all__ = [
    "AppKey",
    "TestApp",
    "build_test_app",
    "cached_app",
    "forget_apps",
    "is_cached",
    "pins_of",
]


@dataclasses.dataclass(frozen=True, eq=False)
class AppKey:
    """What makes two test classes ask for the same app.

    :param factory: the class's ``app_factory`` and ``create_app`` function.
    :param config: the class's ``config`` (compared with ``==``: values need
        not be hashable).
    :param database: the test database.
    :param mirrors: the binds that mirror another database.
    :param plain: what the settings say of an app without Flask-SQLAlchemy.
    """

    factory: object
    config: t.Mapping[str, t.Any]
    database: sa.URL
    mirrors: t.Mapping[str, str]
    plain: PlainSettings = dataclasses.field(default_factory=PlainSettings)

    def matches(self, other: AppKey) -> bool:
        """Tell whether ``other`` asks for the same app.

        :param other: another class's key.
        """
        return (
            self.factory == other.factory
            and self.database == other.database
            and dict(self.mirrors) == dict(other.mirrors)
            and self.plain == other.plain
            and dict(self.config) == dict(other.config)
        )


@dataclasses.dataclass(eq=False)
class TestApp:
    """An app built for the tests, with its database layer.

    :param app: the app, on the test database.
    :param database: its engines, schema and session, whatever the kind of app.
    :param pins: the run's shared connections, which its engines get while a
        test class pins the test databases.
    """

    __test__ = False  # not a test, whatever pytest thinks of the name

    app: Flask
    database: AppDatabase
    pins: Pins
    #: The main test database (where a plain app's engines made later go).
    main: sa.URL
    #: Engines flask-dbtestcase made itself (to build a plain app's schema).
    own_engines: dict[t.Any, sa.Engine] = dataclasses.field(default_factory=dict)

    @property
    def db(self) -> t.Any:
        """The app's extension (Flask-SQLAlchemy or -Lite); None for a plain SQLAlchemy app."""
        return self.database.extension

    @property
    def engines(self) -> dict[t.Any, sa.Engine]:
        """The engines of its databases, by key (``None``: the main one).

        A plain app whose session is bound to no engine yet gets one on the
        main test database, for its schema.
        """
        engines = dict(self.database.engines)
        if None not in engines:
            if None not in self.own_engines:
                self.own_engines[None] = sa.create_engine(self.main)
            engines[None] = self.own_engines[None]
        return engines

    def dispose(self) -> None:
        """Close the engines (the app is not used again)."""
        for engine in [*self.database.all_engines(), *self.own_engines.values()]:
            engine.dispose()


#: The shared connections of each run's test databases: closed when those close.
_pins: weakref.WeakKeyDictionary[TestDatabases, Pins] = weakref.WeakKeyDictionary()


def pins_of(databases: TestDatabases) -> Pins:
    """Return the shared connections of a run's test databases (closed when they close).

    :param databases: a run's test databases.
    """
    pins = _pins.get(databases)
    if pins is None:
        pins = _pins[databases] = Pins()
        databases.add_closer(pins.close)
    return pins


#: The apps built for each run's test databases: disposed when those close.
_apps: weakref.WeakKeyDictionary[TestDatabases, list[tuple[AppKey, TestApp]]] = (
    weakref.WeakKeyDictionary()
)


def cached_app(databases: TestDatabases, key: AppKey, build: t.Callable[[], TestApp]) -> TestApp:
    """Return the app ``key`` asks for, built by ``build`` on first use.

    :param databases: the run's test databases: the app is the run's, and
        disposed when they close.
    :param key: what the test class asks for.
    :param build: builds the app (called at most once per key and run).
    """
    apps = _apps.get(databases)
    if apps is None:
        apps = _apps[databases] = []
        databases.add_closer(functools.partial(forget_apps, databases))
    for known, test_app in apps:
        if known.matches(key):
            return test_app
    test_app = build()
    apps.append((key, test_app))
    return test_app


def forget_apps(databases: TestDatabases) -> None:
    """Dispose of the apps built for ``databases`` (before they are dropped).

    :param databases: a run's test databases.
    """
    for _, test_app in _apps.pop(databases, []):
        test_app.dispose()


def is_cached(app: Flask) -> bool:
    """Tell whether ``app`` is one of the apps the test classes share.

    :param app: a Flask app.
    """
    return any(test_app.app is app for apps in _apps.values() for _, test_app in apps)


def build_test_app(
    create_app: t.Callable[[dict[str, t.Any]], Flask],
    config: t.Mapping[str, t.Any],
    db: t.Any,
    owner: str,
    databases: TestDatabases,
    mirrors: t.Mapping[str, str],
    plain: PlainSettings | None = None,
) -> TestApp:
    """Build an app on the test database, with a test database per bind.

    :param create_app: called once with the test config (the test class's
        ``create_app``).
    :param config: the test class's ``config``, applied last.
    :param db: the test class's own ``db``, if it sets one.
    :param owner: the test class's name, for the messages.
    :param databases: the run's test databases.
    :param mirrors: the binds that mirror another database.
    :param plain: what the settings say of an app without Flask-SQLAlchemy.
    """
    main = databases.url
    plain = plain or PlainSettings()

    # Before the factory runs (it may connect): a throwaway server is proven to
    # be the one this package started, and every engine's connections to it
    # made immune to libpq's environment.
    check_test_database(main, "run tests")

    def call(binds: dict[str, t.Any] | None) -> tuple[Flask, AppDatabase]:
        app = create_app(build_config(main, binds, config, plain.database_url_key))
        with app.app_context():  # db.engines are the current app's
            return app, find_app_database(app, db, owner, plain)

    plan = BindPlan(main, dict(mirrors), databases.create_database)
    with planning_binds(plan):
        app, found = call(None)
    settle_config(app)
    if not plan.applied and stray_binds(found.engines, plan):
        # An app with a config class of its own: its binds still point at its
        # own databases. Build it again, given a test database for each.
        binds = bind_test_databases(app, plan)
        for engine in found.all_engines():
            engine.dispose()
        app, found = call(binds)
    check_app_engines(found, main, owner, app, plan, plain.database_url_key)
    warn_unapplied_options(found.engines, owner)
    clients.install(app)
    app.extensions[EXTENSION_KEY] = found
    return TestApp(app, found, pins_of(databases), main)
