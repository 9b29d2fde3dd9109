"""Imported by the plugin from the project's directory: pytest runs from its parent."""

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Thing(db.Model):
    __tablename__ = "rootdir_things"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))


def create_app(config=None):
    app = Flask(__name__)
    app.config.update(config or {}, WHICH="create_app")
    db.init_app(app)
    return app


def make_other(config=None):
    app = create_app(config)
    app.config["WHICH"] = "make_other"
    return app
