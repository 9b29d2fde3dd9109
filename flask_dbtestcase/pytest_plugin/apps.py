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

    from ..cases.appkinds import AppDatabase
    from ..state import Run

__all__ = ["OWNER", "build_default_app", "checked_db", "test_config"]

#: Who the app is built for, in the messages of the checks.
OWNER = "the app fixture"


def test_config(run: Run) -> dict[str, t.Any]:
    """Return the test configuration an app factory is called with.

    :param run: the session's run (its test database, the ``database_url_key`` setting).
    """
    from ..cases.testapp import build_config

    return build_config(run.databases.url, None, {}, run.settings.database_url_key)


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


def checked_db(app: Flask, run: Run) -> AppDatabase:
    """Return the app's database layer; check its engines use the test database.

    An app the plugin built was checked when it was built. The project's own
    (built in its ``app`` fixture on ``flask_dbtestcase_config``) is checked
    here, and its test client and CLI runner give each request and command
    an app context of its own, as the test case classes do.

    :param app: the app.
    :param run: the session's run.
    """
    from ..cases import clients
    from ..cases.appkinds import EXTENSION_KEY, app_database, find_app_database, plain_settings
    from ..cases.binds import BindPlan
    from ..cases.enginechecks import check_app_engines

    if EXTENSION_KEY in app.extensions:
        return app_database(app)
    main: sa.URL = run.databases.url
    plain = plain_settings(run.settings, None, None)
    with app.app_context():
        found = find_app_database(app, None, OWNER, plain)
    check_app_engines(found, main, OWNER, app, BindPlan(main), plain.database_url_key)
    clients.install(app)
    app.extensions[EXTENSION_KEY] = found
    return found
