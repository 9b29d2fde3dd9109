"""The Mega-Tutorial / cookiecutter-flask factory: ``create_app(config_class=Config)``.

It hands whatever it is given to ``app.config.from_object()``, which reads
only UPPERCASE attributes: the keys of a dict never arrive.
"""

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped, mapped_column

from tests.mistakeapps import ELSEWHERE, settings
from tests.mistakeapps.config import Config

db = SQLAlchemy()


class Post(db.Model):
    __tablename__ = "mistake_post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(80))


def create_app(config_class=Config):
    app = Flask(__name__)
    app.config.from_object(config_class)
    db.init_app(app)
    return app


def create_app_with_defaults(config_object="tests.mistakeapps.config.Config"):
    """The cookiecutter-flask form: a default URI first, then the named config object."""
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = ELSEWHERE
    app.config.from_object(config_object)
    db.init_app(app)
    return app


def create_app_from_settings_path(config_object="tests.mistakeapps.settings"):
    """cookiecutter-flask's own: a settings *module*, named by its import path."""
    app = Flask(__name__)
    app.config.from_object(config_object)
    db.init_app(app)
    return app


def create_app_from_settings_module(config_object=settings):
    """A settings module given as the module itself."""
    app = Flask(__name__)
    app.config.from_object(config_object)
    db.init_app(app)
    return app
