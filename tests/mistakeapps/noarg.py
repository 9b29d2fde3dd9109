"""A factory that takes no argument: it cannot be given the test configuration."""

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from tests.mistakeapps import ELSEWHERE

db = SQLAlchemy()


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = ELSEWHERE
    db.init_app(app)
    return app
