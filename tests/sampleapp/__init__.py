"""A small app for the project's own tests: every path isolation must survive."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask, abort, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class AppSession(Session):
    """A custom session class: the framework must keep it."""


db = SQLAlchemy(model_class=Base, session_options={"class_": AppSession, "expire_on_commit": False})


class Item(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)


class Note(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("item.id"))
    text: Mapped[str] = mapped_column(sa.String(200), default="")


class Audit(db.Model):
    """Lives in the 'audit' bind: a second database."""

    __bind_key__ = "audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(sa.String(80))


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI="postgresql://postgres@127.0.0.1:5432/sampleapp",
        SQLALCHEMY_BINDS={"audit": "postgresql://postgres@127.0.0.1:5432/sampleapp_audit"},
    )
    app.config.update(config or {})
    db.init_app(app)

    @app.post("/items")
    def add_item():
        item = Item(name=request.json["name"])
        db.session.add(item)
        db.session.add(Audit(event=f"add {item.name}"))
        db.session.commit()
        return jsonify(id=item.id), 201

    @app.post("/items/begin")
    def add_item_begin():
        with db.session.begin():
            db.session.add(Item(name=request.json["name"]))
        return jsonify(ok=True), 201

    @app.post("/items/unique")
    def add_item_unique():
        """Insert; on a duplicate, roll back and insert under another name."""
        name = request.json["name"]
        db.session.add(Item(name=name))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            db.session.add(Item(name=name + "-2"))
            db.session.commit()
            return jsonify(renamed=True), 201
        return jsonify(renamed=False), 201

    @app.post("/items/fail")
    def add_item_fail():
        db.session.add(Item(name=request.json["name"]))
        db.session.flush()
        abort(500)

    @app.post("/items/core")
    def add_item_core():
        with db.engine.begin() as conn:
            conn.execute(sa.insert(Item).values(name=request.json["name"]))
        return jsonify(ok=True), 201

    @app.get("/items")
    def list_items():
        names = db.session.scalars(sa.select(Item.name).order_by(Item.name)).all()
        return jsonify(names=names, session_class=type(db.session()).__name__)

    @app.cli.command("add-item")
    @click.argument("name")
    def add_item_command(name: str) -> None:
        db.session.add(Item(name=name))
        db.session.commit()
        click.echo(f"added {name}")

    return app
