"""A small app as cookiecutter-flask generates one: a factory, a blueprint, a model."""

from flask import Flask

from shop import views
from shop.models import db


def create_app(config=None):
    app = Flask(__name__)
    app.config.update(SECRET_KEY="not-a-secret")
    app.config.update(config or {})
    db.init_app(app)
    app.register_blueprint(views.blueprint)
    return app
