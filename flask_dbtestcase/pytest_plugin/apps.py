"""The ``app`` fixture's app: the one the test case classes with no ``app_factory`` get.

The factory is the project's default (``--app-factory``, the
``flask_dbtestcase_app_factory`` ini key, ``[tool.flask-dbtestcase]
app_factory`` in pyproject.toml, else ``FLASK_APP``: see
:mod:`.projectsettings`), called once per run with the test
configuration (see :mod:`flask_dbtestcase.cases.appcache`). Every engine
must point at its test database before the app is handed out.
"""

from __future__ import annotations

import typing as t

from ..errors import ConfigurationError
from .projectsettings import APP_FACTORY_INI, APP_FACTORY_OPTION

if t.TYPE_CHECKING:
    import sqlalchemy as sa
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy

    from ..state import Run

__all__ = ["OWNER", "build_default_app", "checked_db", "test_config"]

#: Who the app is built for, in the messages of the checks.
OWNER = "the app fixture"


def test_config(main: sa.URL) -> dict[str, t.Any]:
    """Return the test configuration an app factory is called with.

    :param main: the test database.
    """
    from ..cases.testapp import build_config

    return build_config(main, None, {})


def build_default_app(run: Run) -> Flask:
    """Return the project's app on the test database, with test databases for its binds.

    It is the app a FlaskDBTestCase class with no ``app_factory`` gets: one
    per run, shared by the fixture and such classes.

    :param run: the session's run.
    """
    from ..cases.classes import FlaskDBTestCase

    if run.settings.factory_spec is None:
        raise ConfigurationError(
            "No app factory is configured, so the app fixture does not know how to create "
            "your Flask app. Name it under [tool.flask-dbtestcase] in the pyproject.toml of "
            "pytest's rootdir (app_factory = \"myapp:create_app\"), or in pytest's "
            f"configuration ({APP_FACTORY_INI} = myapp:create_app), or on the command line "
            f"({APP_FACTORY_OPTION} myapp:create_app); or set FLASK_APP; or define an app "
            "fixture of your own built on flask_dbtestcase_config."
        )
    return FlaskDBTestCase.shared_test_app(run).app


def checked_db(app: Flask, main: sa.URL) -> SQLAlchemy:
    """Return the app's Flask-SQLAlchemy extension; check its engines use the test database.

    Also make the app's test client and CLI runner give each request and
    command an app context of its own, as the test case classes do.

    :param app: the app.
    :param main: the test database.
    """
    from ..cases import clients
    from ..cases.testapp import check_engines, find_db

    db = find_db(app, None, OWNER)
    with app.app_context():
        engines = dict(db.engines)
    check_engines(engines, main, OWNER, app)
    clients.install(app)
    return db
