"""An app whose schema comes from Flask-Migrate migrations (see migrations/)."""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate(directory=MIGRATIONS)


class Account(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(120), unique=True)
    balance: Mapped[int] = mapped_column(default=0, server_default="0")


def create_app(config=None):
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://postgres@127.0.0.1:5432/accounts"
    app.config.update(config or {})
    db.init_app(app)
    migrate.init_app(app, db)
    return app
