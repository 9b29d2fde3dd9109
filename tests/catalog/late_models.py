"""A model of tests/catalog/lateapp.py that only a test imports: after the tables were built."""

from __future__ import annotations

from sqlalchemy.orm import Mapped, mapped_column

from tests.catalog.lateapp import db


class Late(db.Model):
    __tablename__ = "fdt_late"
    id: Mapped[int] = mapped_column(primary_key=True)
