"""An app that keeps state between tests, as production apps do.

Its config holds mutable values (a feature-flag dict with a nested dict and
list, a list), and an extension keeps a reference to one of them, as
extensions that read their config at ``init_app`` do. ``mycache`` is a tiny
cache-like extension: it keeps a query's result in ``app.extensions``, as
Flask-Caching's ``SimpleCache`` keeps it on the app, for every later test
of the run's one shared app.
"""

from __future__ import annotations

import threading
import typing as t

import sqlalchemy as sa
from flask import Flask, current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Gadget(db.Model):
    __tablename__ = "appstate_gadget"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))


#: What no test may get a copy of: a lock and a client, kept in a config dict.
LOCK = threading.Lock()
CLIENT = object()


def original_features() -> dict[str, t.Any]:
    """The FEATURES the app is built with (a fresh copy each call)."""
    return {"beta": False, "limits": {"per_minute": 10, "paths": ["/a"]}}


def gadget_names() -> list[str]:
    """The gadgets' names, from the cache when it has them (computed once, then kept)."""
    cache: dict[str, t.Any] = current_app.extensions["mycache"]
    if "gadget_names" not in cache:
        cache["gadget_names"] = sorted(db.session.scalars(sa.select(Gadget.name)))
    names: list[str] = cache["gadget_names"]
    return names


def create_app(config: dict[str, t.Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        FEATURES=original_features(),
        ALLOWED_HOSTS=["a.example"],
        CACHE_OPTIONS={"lock": LOCK, "client": CLIENT, "servers": ["s1"]},
    )
    app.config.update(config or {})
    db.init_app(app)
    app.extensions["features"] = app.config["FEATURES"]  # kept at init, as extensions do
    app.extensions["mycache"] = {}
    return app
