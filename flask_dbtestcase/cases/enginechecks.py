"""Every engine an app names must be on a test database of the run, before anything runs.

:func:`check_app_engines` applies :func:`~.testapp.check_engines` to every
engine the app's extensions name, whatever the kind of app
(:mod:`.appkinds`): the main extension's, further Flask-SQLAlchemy
instances', Flask-SQLAlchemy-Lite's async engines, engines the app keeps in
``app.extensions``, a plain app's session binds; and, for a plain app that
makes its engines later (at request time), the URL its config holds under
``database_url_key``. An engine on any other database is refused: nothing
is run on it.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import Flask

from ..databases.drivers import DRIVERS
from ..databases.safety import check_test_database
from ..databases.urls import parse_url, render_url, same_database
from ..errors import ConfigurationError, UnsafeDatabaseError
from .appkinds import PLAIN, AppDatabase
from .binds import BindPlan
from .refusals import is_postgresql, pointing_elsewhere, unsupported_driver

__all__ = ["check_app_engines", "check_engines"]


def check_app_engines(
    found: AppDatabase,
    main: sa.URL,
    owner: str,
    app: Flask,
    plan: BindPlan,
    database_url_key: str | None = None,
) -> None:
    """Refuse to go on unless every engine the app names is on its test database.

    :param found: the app's database layer.
    :param main: the test database.
    :param owner: the test class's name, for the messages.
    :param app: the app.
    :param plan: where its binds (and Lite's named engines) go.
    :param database_url_key: the config key a plain app reads its URL from.
    """
    if found.kind == PLAIN:
        for engine in found.engines.values():  # one database: the URL it was given
            check_engines({None: engine}, main, owner, app, plan)
    else:
        check_engines(found.engines, main, owner, app, plan)
    for engines, _ in found.others:
        check_engines(engines, main, owner, app, plan)
    allowed = [main, *(plan.expected(key) for key in found.engines if found.kind != PLAIN)]
    for name, engine in found.loose.items():
        if not any(same_database(engine.url, url) for url in allowed):
            _refuse(owner, f"the engine in app.extensions[{name!r}]", engine.url, main)
        check_engines({None: engine}, engine.url, owner, app)
    for name, engine in found.async_engines.items():
        expected = main if name == "default" else plan.expected(name)
        _check_one(engine.url, expected, owner, f"its async engine {name!r}")
    if database_url_key and found.kind == PLAIN:
        value = app.config.get(database_url_key)
        try:
            url = parse_url(value) if isinstance(value, (str, sa.URL)) else None
        except Exception:  # not a URL at all
            url = None
        if url is None or not same_database(url, main):
            shown = render_url(value) if isinstance(value, (str, sa.URL)) else repr(value)
            raise UnsafeDatabaseError(
                f"The app built for {owner} ignored the test configuration: its config has "
                f"{database_url_key} = {shown}, not the test database {render_url(main)}, "
                "so the engines it makes from it would reach another database. Nothing was "
                "run against it. Make the app factory apply the config mapping it is given "
                "(app.config.update(config)) after loading its own settings, and before it "
                "creates its engine."
            )


def _check_one(url: sa.URL, expected: sa.URL, owner: str, what: str) -> None:
    if not same_database(url, expected):
        _refuse(owner, what, url, expected)
    check_test_database(url, "run tests")


def _refuse(owner: str, what: str, url: sa.URL, expected: sa.URL) -> t.NoReturn:
    raise UnsafeDatabaseError(
        f"The app built for {owner} ignored the test configuration: {what} points at "
        f"{render_url(url)}, not at the test database {render_url(expected)}. Nothing was "
        "run against it. Make the app factory apply the config mapping it is given "
        "(app.config.update(config)) after loading its own settings, and make every "
        "engine from the URLs in it."
    )


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
        if not is_postgresql(engine.url) or not same_database(engine.url, expected):
            raise UnsafeDatabaseError(pointing_elsewhere(app, key, engine.url, expected, owner))
        if engine.dialect.driver not in DRIVERS:
            raise ConfigurationError(unsupported_driver(owner, what, engine))
        check_test_database(engine.url, "run tests")
