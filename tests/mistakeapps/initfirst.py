"""A factory that calls db.init_app(app) before it applies the config it is given."""

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from tests.mistakeapps import ELSEWHERE

db = SQLAlchemy()


def create_app(config=None):
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = ELSEWHERE
    db.init_app(app)  # the engines are created here, from the app's own URI
    app.config.update(config or {})
    return app
