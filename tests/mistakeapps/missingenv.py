"""A factory that reads a variable the environment does not have (KeyError in <frozen os>)."""

import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()

#: The variable the factory reads; the test makes sure it is not set.
VARIABLE = "FDT_MISTAKE_SECRET_KEY"


def create_app(config=None):
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ[VARIABLE]  # the line the error must name
    app.config.update(config or {})
    db.init_app(app)
    return app
