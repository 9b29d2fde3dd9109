"""A small blog: a JSON API (users, posts, comments, tags) and a few pages, on PostgreSQL."""

import os

from flask import Flask
from flask_migrate import Migrate

from .models import db

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")
migrate = Migrate(directory=MIGRATIONS)

__all__ = ["create_app", "db"]


def create_app(config=None):
    """Application factory.

    ``config`` is a mapping applied on top of the defaults, before the
    database is set up: the test framework passes its test database URL here.
    """
    app = Flask(__name__)
    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=os.environ.get(
            "DATABASE_URL", "postgresql+psycopg2://localhost/blog"
        ),
        SECRET_KEY=os.environ.get("SECRET_KEY", "dev only: set SECRET_KEY in production"),
    )
    app.config.update(config or {})

    db.init_app(app)
    migrate.init_app(app, db)

    from .pages import pages
    from .views import bp

    app.register_blueprint(bp)
    app.register_blueprint(pages)
    return app
