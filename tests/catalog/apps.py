"""An app with a model in a schema of its own ("accounting") and one in the default schema."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)

#: A standalone sequence the models create (no table owns it).
COUNTER = sa.Sequence("fdt_counter", metadata=db.metadata)


class Ledger(db.Model):
    __tablename__ = "ledger"
    __table_args__ = {"schema": "accounting"}  # noqa: RUF012 - SQLAlchemy's own attribute
    id: Mapped[int] = mapped_column(primary_key=True)
    amount: Mapped[int] = mapped_column(default=0)


class Customer(db.Model):
    __tablename__ = "fdt_customer"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), default="")


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI="postgresql://postgres@127.0.0.1:5432/catalog")
    app.config.update(config or {})
    db.init_app(app)
    return app
