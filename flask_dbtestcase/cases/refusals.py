"""Why an app built for a test class does not point at its test database,
in plain words: the refusals :func:`~.enginechecks.check_engines` raises."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import Flask

from ..databases.urls import parse_url, render_url, same_database
from .factory import factory_call, from_object_advice, from_object_reason

__all__ = ["is_postgresql", "pointing_elsewhere", "unsupported_driver"]


def is_postgresql(url: sa.URL) -> bool:
    """Tell whether an engine's URL is a PostgreSQL one (SQLite, MySQL: not).

    :param url: the engine's URL.
    """
    return url.get_backend_name() == "postgresql"


def unsupported_driver(owner: str, what: str, engine: sa.Engine) -> str:
    """Say that an engine on the test database uses a driver the framework cannot pin.

    :param owner: the test class's name.
    :param what: ``its database`` or ``its bind 'key'``.
    :param engine: the engine.
    """
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
    engine = "" if is_postgresql(url) else f" (a {backend} database: the tests need PostgreSQL)"
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


def pointing_elsewhere(
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
