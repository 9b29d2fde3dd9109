"""The settings of a pytest session: found from pytest's rootdir, then its own options on top.

``[tool.flask-dbtestcase]`` is read from the ``pyproject.toml`` at pytest's
rootdir or above it, not from the current directory: ``pytest
myproject/tests`` run from a parent directory (an IDE, a monorepo) finds the
project's settings, as pytest finds its own configuration there. Then, as
pytest-django's ``DJANGO_SETTINGS_MODULE`` ini key and ``--ds`` option name
the settings module, the app factory can be named by the ini key
``flask_dbtestcase_app_factory`` and the option ``--app-factory`` (the
option wins, then the ini key, then ``pyproject.toml``, then ``FLASK_APP``),
and ``--migrations`` / ``--no-migrations`` override the ``schema`` setting.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import typing as t
from pathlib import Path

import pytest

from ..settings import Settings

__all__ = [
    "APP_FACTORY_INI",
    "APP_FACTORY_OPTION",
    "add_settings_options",
    "project_directory",
    "put_on_path",
    "read_settings",
    "settings_given",
]

#: The ini key that names the app factory (pytest-django's DJANGO_SETTINGS_MODULE).
APP_FACTORY_INI = "flask_dbtestcase_app_factory"
#: The option that names it (pytest-django's --ds).
APP_FACTORY_OPTION = "--app-factory"
_APP_FACTORY_DEST = "flask_dbtestcase_app_factory"
_MIGRATIONS_DEST = "flask_dbtestcase_migrations"


def add_settings_options(parser: pytest.Parser, group: t.Any) -> None:
    """Declare the ini key and the options that override the project's settings.

    :param parser: pytest's option parser.
    :param group: the plugin's group of options.
    """
    parser.addini(
        APP_FACTORY_INI,
        "flask-dbtestcase: the app factory, 'module:function' (before [tool.flask-dbtestcase] "
        "app_factory and FLASK_APP).",
        default=None,
    )
    options: list[tuple[tuple[str, ...], dict[str, t.Any]]] = [
        (
            (APP_FACTORY_OPTION,),
            {
                "dest": _APP_FACTORY_DEST,
                "metavar": "MODULE:FUNCTION",
                "default": None,
                "help": f"The app factory (before the {APP_FACTORY_INI} ini key, "
                "[tool.flask-dbtestcase] app_factory and FLASK_APP).",
            },
        ),
        (
            ("--migrations",),
            {
                "action": "store_const",
                "const": True,
                "dest": _MIGRATIONS_DEST,
                "default": None,
                "help": "Build the test database with the Flask-Migrate migrations "
                '(schema = "migrations").',
            },
        ),
        (
            ("--no-migrations", "--nomigrations"),
            {
                "action": "store_const",
                "const": False,
                "dest": _MIGRATIONS_DEST,
                "help": "Build the test database with create_all(), not the migrations "
                '(schema = "create_all").',
            },
        ),
    ]
    for names, kwargs in options:
        try:
            group.addoption(*names, **kwargs)
        except ValueError:  # another plugin (pytest-django) has it already
            pass


def read_settings(config: pytest.Config) -> Settings:
    """Return the session's settings: the project's at pytest's rootdir, with the options on top.

    :param config: pytest's configuration.
    """
    settings = Settings.load(start=config.rootpath)
    changes: dict[str, t.Any] = {}
    factory = config.getoption(_APP_FACTORY_DEST, None) or _ini(config, APP_FACTORY_INI)
    if factory:
        changes["app_factory"] = factory
    migrations = config.getoption(_MIGRATIONS_DEST, None)
    if migrations is not None:
        changes["schema"] = "migrations" if migrations else "create_all"
    return dataclasses.replace(settings, **changes) if changes else settings


def settings_given(config: pytest.Config) -> bool:
    """Tell whether the session names the app factory or the schema (an option, the ini key).

    :param config: pytest's configuration.
    """
    return bool(
        config.getoption(_APP_FACTORY_DEST, None)
        or _ini(config, APP_FACTORY_INI)
        or config.getoption(_MIGRATIONS_DEST, None) is not None
    )


def _ini(config: pytest.Config, name: str) -> str | None:
    """The ini key's value, stripped; None when it is not set."""
    try:
        value = config.getini(name)
    except ValueError:  # not declared (the plugin was registered late)
        return None
    text = str(value).strip() if value else ""
    return text or None


def project_directory(config: pytest.Config, settings: Settings) -> Path:
    """Return the project's directory: the settings' pyproject.toml's, else pytest's rootdir.

    :param config: pytest's configuration.
    :param settings: the session's settings.
    """
    if settings.pyproject_path:
        return Path(settings.pyproject_path).parent
    return Path(config.rootpath)


def put_on_path(directory: Path) -> None:
    """Make the project's modules importable, as ``flask`` puts the current directory first.

    An app factory named ``"myapp:create_app"`` is imported from the project's
    directory whichever directory pytest was started from.

    :param directory: the project's directory.
    """
    path = os.fspath(directory)
    if path not in sys.path:
        sys.path.insert(0, path)
