"""Factories that apply the config they are given, then set the database themselves."""

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from tests.mistakeapps import ELSEWHERE

db = SQLAlchemy()


def create_app(config=None):
    """Its own PostgreSQL database, set after the test configuration."""
    app = Flask(__name__)
    app.config.update(config or {})
    app.config["SQLALCHEMY_DATABASE_URI"] = ELSEWHERE
    db.init_app(app)
    return app


def create_sqlite_app(config=None):
    """SQLite, set after the test configuration: the engine is not even PostgreSQL."""
    app = Flask(__name__)
    app.config.update(config or {})
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///:memory:"
    db.init_app(app)
    return app
