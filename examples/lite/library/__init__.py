"""A small lending library on Flask-SQLAlchemy-Lite: authors, books, loans, and an audit log."""

import os

from flask import Flask

from .models import db

__all__ = ["create_app", "db"]


def create_app(config=None):
    """Application factory.

    ``config`` is a mapping applied on top of the defaults, before the
    engines are made: the test framework passes its test databases here
    (``SQLALCHEMY_ENGINES``).
    """
    app = Flask(__name__)
    app.config.from_mapping(
        SQLALCHEMY_ENGINES={
            "default": os.environ.get("DATABASE_URL", "postgresql+psycopg://localhost/library"),
            "audit": os.environ.get(
                "AUDIT_DATABASE_URL", "postgresql+psycopg://localhost/library_audit"
            ),
        },
    )
    app.config.update(config or {})

    db.init_app(app)

    from .views import bp

    app.register_blueprint(bp)
    return app
