"""A to-do list on plain SQLAlchemy: an engine, a scoped session, no Flask extension."""

import os

from flask import Flask

from . import db

__all__ = ["create_app"]


def create_app(config=None):
    """Application factory.

    ``config`` is a mapping applied on top of the defaults, before the engine
    is made: the test framework passes its test database URL here, under
    ``DATABASE_URL`` (the ``database_url_key`` setting).
    """
    app = Flask(__name__)
    app.config.from_mapping(
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgresql+psycopg://localhost/todo"),
    )
    app.config.update(config or {})

    db.init_app(app)

    from .views import bp

    app.register_blueprint(bp)
    return app
