"""The ``app`` fixture's app: built once per session, as the test case classes build theirs.

The factory is the project's default (``[tool.flask-dbtestcase] app_factory``
in pyproject.toml, else ``FLASK_APP``), called with the test configuration;
an app whose binds still point at databases of its own is built again with a
test database for each bind. Every engine must point at its test database
before the app is handed out.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    import sqlalchemy as sa
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy

__all__ = ["OWNER", "build_default_app", "checked_db", "test_config"]

#: Who the app is built for, in the messages of the checks.
OWNER = "the app fixture"


def test_config(main: sa.URL) -> dict[str, t.Any]:
    """Return the test configuration an app factory is called with.

    :param main: the test database.
    """
    from ..cases.testapp import build_config

    return build_config(main, None, {})


def build_default_app(main: sa.URL) -> Flask:
    """Build the project's app on the test database, with test databases for its binds.

    :param main: the test database.
    """
    from ..cases.factory import call_factory, default_factory_spec, resolve_factory
    from ..cases.testapp import (
        bind_test_databases,
        build_config,
        stray_binds,
        use_psycopg2_for_plain_urls,
    )

    use_psycopg2_for_plain_urls()
    factory = resolve_factory(default_factory_spec())
    app = call_factory(factory, build_config(main, None, {}))
    db = checked_db(app, main, check=False)
    with app.app_context():
        engines = dict(db.engines)
    if stray_binds(engines, main):
        binds = bind_test_databases(app, main)
        for engine in engines.values():
            engine.dispose()
        app = call_factory(factory, build_config(main, binds, {}))
    checked_db(app, main)
    return app


def checked_db(app: Flask, main: sa.URL, check: bool = True) -> SQLAlchemy:
    """Return the app's Flask-SQLAlchemy extension; check its engines use the test database.

    Also make the app's test client and CLI runner give each request and
    command an app context of its own, as the test case classes do.

    :param app: the app.
    :param main: the test database.
    :param check: check the engines (skipped before the binds are known).
    """
    from ..cases import clients
    from ..cases.testapp import check_engines, find_db

    db = find_db(app, None, OWNER)
    if check:
        with app.app_context():
            engines = dict(db.engines)
        check_engines(engines, main, OWNER, app)
        clients.install(app)
    return db
