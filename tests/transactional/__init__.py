"""An app for the FlaskDBTransactionTestCase pairs: a standalone sequence, seeds, foreign keys."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)

#: A sequence of its own (in the metadata, owned by no table) as a column default.
ORDER_NUMBER = sa.Sequence("order_number_seq", metadata=Base.metadata)


class Ticket(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(ORDER_NUMBER)


class Country(db.Model):
    """Seeded by the schema build (as a data migration would): see below."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(2), unique=True)


SEEDS = ["fr", "nl"]
sa.event.listen(
    Country.__table__,
    "after_create",
    sa.DDL("INSERT INTO country (code) VALUES " + ", ".join(f"('{c}')" for c in SEEDS)),
)


class City(db.Model):
    """Points at a seeded table: emptying country must empty it first."""

    id: Mapped[int] = mapped_column(primary_key=True)
    country_id: Mapped[int] = mapped_column(sa.ForeignKey("country.id"))
    name: Mapped[str] = mapped_column(sa.String(40))


class Employee(db.Model):
    """Points at itself, with a deferred foreign key to city."""

    id: Mapped[int] = mapped_column(primary_key=True)
    boss_id: Mapped[int | None] = mapped_column(sa.ForeignKey("employee.id", ondelete="RESTRICT"))
    city_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("city.id", deferrable=True, initially="DEFERRED")
    )


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://postgres@127.0.0.1:5432/transactional"
    app.config.update(config or {})
    db.init_app(app)
    return app
