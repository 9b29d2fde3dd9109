"""An app whose ``Late`` model lives in a module nothing imports before the tests run
(tests/catalog/late_models.py): the late-model tests import it inside a test."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Early(db.Model):
    __tablename__ = "fdt_early"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), default="")


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI="postgresql://postgres@127.0.0.1:5432/lateapp")
    app.config.update(config or {})
    db.init_app(app)
    return app
