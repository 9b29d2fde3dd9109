"""Building an app's schema in the test databases, whatever the kind of app.

A Flask-SQLAlchemy app's tables come from ``db.metadatas`` (and those of
any further instance), or from its Flask-Migrate migrations. An app on
Flask-SQLAlchemy-Lite or plain SQLAlchemy has no extension that knows its
models: its tables come from the ``metadata`` setting (or class attribute).
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import Flask

from ..databases.schema import build_schema
from ..databases.watch import Marks
from ..errors import ConfigurationError
from .appkinds import FLASK_SQLALCHEMY, AppDatabase
from .latemodels import explain_missing_tables

__all__ = ["build_app_schema"]


def build_app_schema(
    app: Flask,
    database: AppDatabase,
    engines: t.Mapping[t.Any, sa.Engine],
    marks: Marks,
    owner: str,
    schema: str = "create_all",
    migrations_directory: str | None = None,
    check: bool = False,
) -> None:
    """Build the tables of the app's databases once per run (see :func:`.build_schema`).

    :param app: the app.
    :param database: its database layer.
    :param engines: the engines whose databases get the schema, by key.
    :param marks: the run's marks: what is built already.
    :param owner: the test class's name, for the messages.
    :param schema: ``"create_all"`` or ``"migrations"``.
    :param migrations_directory: the Flask-Migrate directory.
    :param check: with migrations, fail when the models have unmigrated changes.
    """
    if database.kind != FLASK_SQLALCHEMY:
        if schema == "migrations":
            raise ConfigurationError(
                f"schema = 'migrations' for {owner}: flask-dbtestcase runs migrations "
                "through Flask-Migrate, which works with Flask-SQLAlchemy only, and this "
                f"app is a {database.kind} app. Build the test database from the models "
                "instead (schema = 'create_all', the default, with the 'metadata' setting)."
            )
        if not database.metadatas:
            raise ConfigurationError(
                f"flask-dbtestcase does not know the tables of the app built for {owner}: "
                f"a {database.kind} app has no extension that lists its models. Name "
                'their MetaData: metadata = "myapp.models:Base.metadata" under '
                "[tool.flask-dbtestcase] in pyproject.toml, or as the test class's "
                "'metadata' attribute."
            )
    build_schema(
        app, database.metadatas, engines, marks, schema, migrations_directory, check,
    )  # fmt: skip
    if schema == "create_all":  # migrations build every instance's tables
        for other_engines, other_metadatas in database.others:
            build_schema(app, other_metadatas, other_engines, marks)
        explain_missing_tables(database, marks)
