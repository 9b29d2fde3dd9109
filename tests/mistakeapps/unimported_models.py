"""The models of :mod:`.unimported`, which nothing imports."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tests.mistakeapps.unimported import db


class Order(db.Model):
    __tablename__ = "mistake_order"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(20))
