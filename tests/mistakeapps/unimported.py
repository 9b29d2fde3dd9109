"""A right factory whose models module (:mod:`.unimported_models`) is never imported."""

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from tests.mistakeapps import ELSEWHERE

db = SQLAlchemy()


def create_app(config=None):
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = ELSEWHERE
    app.config.update(config or {})
    db.init_app(app)
    return app
