"""An app that behaves like the ported projects: g-cached users, signals, a replica.

- ``/whoami`` caches the user in ``g`` the way Flask-Login does, so a request
  that inherited another's ``g`` would answer with the wrong user;
- the factory connects a ``before_models_committed`` receiver (as apps that
  audit commits do): called twice, every commit would be counted twice;
- ``replica`` is a bind whose production URL is the default database's;
  ``reports`` is a bind of its own database.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, g, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.record_queries import get_recorded_queries
from flask_sqlalchemy.track_modifications import before_models_committed
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

PRODUCTION_URL = "postgresql://postgres@127.0.0.1:5432/fsapp"


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)

#: One entry per commit seen by the receivers the factory connected.
COMMITS: list[str] = []
#: How many times the factory ran.
FACTORY_CALLS: list[Flask] = []


class Member(db.Model):
    __tablename__ = "fs_member"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    email: Mapped[str] = mapped_column(sa.String(80), default="")


class Report(db.Model):
    __tablename__ = "fs_report"
    __bind_key__ = "reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(80))


class Config:
    SQLALCHEMY_DATABASE_URI = PRODUCTION_URL
    SQLALCHEMY_BINDS = {
        "replica": PRODUCTION_URL,  # a read replica: the same database, in production
        "reports": "postgresql://postgres@127.0.0.1:5432/fsapp_reports",
    }
    SQLALCHEMY_TRACK_MODIFICATIONS = True
    SQLALCHEMY_RECORD_QUERIES = True
    FLAG = "original"


def create_app(config: dict | None = None) -> Flask:
    """The app, with a commit receiver connected for every sender."""
    app = build_app(config)
    FACTORY_CALLS.append(app)

    def count_commit(sender: Flask, changes: list) -> None:
        COMMITS.append(",".join(sorted(op for _, op in changes)))

    before_models_committed.connect(count_commit, weak=False)
    return app


def create_plain_app(config: dict | None = None) -> Flask:
    """The same app, without the receiver (for classes that want an app of their own).

    Without track modifications too: Flask-SQLAlchemy listens on the shared
    session once per init_app, so a second app would send every signal twice.
    """
    return build_app({**(config or {}), "SQLALCHEMY_TRACK_MODIFICATIONS": False})


def build_app(config: dict | None) -> Flask:
    app = Flask(__name__)
    app.config.from_object(Config)
    app.config.update(config or {})
    db.init_app(app)

    @app.get("/whoami")
    def whoami():
        if "user" not in g:  # Flask-Login's current_user cache
            g.user = request.cookies.get("user", "anonymous")
        return g.user

    @app.get("/g")
    def show_g():
        return jsonify(sorted(name for name in vars(g)))

    @app.get("/session-id")
    def session_id():
        return str(id(db.session()))

    @app.get("/members/count")
    def count_members():
        return str(db.session.scalar(sa.select(sa.func.count()).select_from(Member)))

    @app.post("/members")
    def add_member():
        member = Member(name=request.json["name"])
        db.session.add(member)
        db.session.commit()
        return jsonify(id=member.id), 201

    @app.post("/members/<int:member_id>/rename")
    def rename(member_id: int):
        member = db.session.get(Member, member_id)
        member.name = request.json["name"]
        db.session.commit()
        return jsonify(ok=True)

    @app.get("/recorded")
    def recorded():
        return str(len(get_recorded_queries()))

    return app
