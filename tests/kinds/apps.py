"""Three small apps for the pair tests, one per way an engine can reach the test database.

- :func:`create_fsa_app`: Flask-SQLAlchemy, with a second ``SQLAlchemy()``
  instance kept under another ``app.extensions`` key (its own engines and
  models), and a route that makes an engine with ``create_engine`` at
  request time.
- :func:`create_lite_app`: Flask-SQLAlchemy-Lite, a ``default`` engine and a
  named ``other`` one (a test database of its own).
- :func:`create_plain_app`: plain SQLAlchemy, the URL read from
  ``KIND_URL``, a scoped session kept in ``app.extensions``.

Every table is named ``kind_*``: :data:`LEAKS` counts the rows of all of
them that exist, on any connection.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import Flask, current_app, jsonify
from flask.globals import app_ctx
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, scoped_session, sessionmaker

try:
    import flask_sqlalchemy_lite
except ImportError:  # it needs Python 3.10: its tests are skipped on 3.9
    flask_sqlalchemy_lite = None

#: Why the Flask-SQLAlchemy-Lite tests cannot run here (None: they can).
NO_LITE = None if flask_sqlalchemy_lite else "Flask-SQLAlchemy-Lite needs Python 3.10 or later"

TABLES = ["kind_main", "kind_second", "kind_lite", "kind_lite_other", "kind_plain"]

#: The rows of every kind_* table that exists: one statement, on any connection.
LEAKS = (
    "SELECT coalesce(sum((xpath('/row/c/text()', query_to_xml("
    "format('SELECT count(*) AS c FROM %I', name), false, true, '')))[1]::text::int), 0) "
    f"FROM unnest(ARRAY{TABLES!r}::text[]) AS name WHERE to_regclass(name) IS NOT NULL"
)


# -- Flask-SQLAlchemy, two instances -------------------------------------------


class MainBase(DeclarativeBase):
    pass


class SecondBase(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=MainBase)
second = SQLAlchemy(model_class=SecondBase)


class MainRow(db.Model):
    __tablename__ = "kind_main"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))


class SecondRow(second.Model):
    __tablename__ = "kind_second"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))


def create_fsa_app(config: dict[str, t.Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(config or {})
    second.init_app(app)  # the second instance, moved to a key of its own
    app.extensions["reports"] = app.extensions.pop("sqlalchemy")
    db.init_app(app)

    @app.post("/second")
    def write_second() -> t.Any:
        second.session.add(SecondRow(name="request"))
        second.session.commit()
        return jsonify(ok=True)

    @app.post("/request-engine")
    def write_request_engine() -> t.Any:
        engine = sa.create_engine(current_app.config["SQLALCHEMY_DATABASE_URI"])
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO kind_main (name) VALUES ('request engine')"))
        finally:
            engine.dispose()
        return jsonify(ok=True)

    return app


# -- Flask-SQLAlchemy-Lite -----------------------------------------------------


class LiteBase(DeclarativeBase):
    pass


class LiteOtherBase(DeclarativeBase):
    pass


lite = (
    flask_sqlalchemy_lite.SQLAlchemy(session_options={"binds": {LiteOtherBase: "other"}})
    if flask_sqlalchemy_lite
    else None
)


class LiteRow(LiteBase):
    __tablename__ = "kind_lite"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))


class LiteOtherRow(LiteOtherBase):
    __tablename__ = "kind_lite_other"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))


#: The ``metadata`` of the Lite classes: one MetaData per named engine.
LITE_METADATA = {"default": LiteBase.metadata, "other": LiteOtherBase.metadata}


def create_lite_app(config: dict[str, t.Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_ENGINES={
            "default": "postgresql://postgres@127.0.0.1:5432/kindapp",
            "other": "postgresql://postgres@127.0.0.1:5432/kindapp_other",
        }
    )
    app.config.update(config or {})
    lite.init_app(app)

    @app.post("/lite")
    def write_lite() -> t.Any:
        lite.session.add(LiteRow(name="request"))
        lite.session.add(LiteOtherRow(name="request"))
        lite.session.commit()
        return jsonify(ok=True)

    @app.post("/lite/other-engine")
    def write_other_engine() -> t.Any:
        with lite.get_engine("other").begin() as conn:
            conn.execute(sa.insert(LiteOtherRow).values(name="core"))
        return jsonify(ok=True)

    return app


# -- plain SQLAlchemy ------------------------------------------------------------


class PlainBase(DeclarativeBase):
    pass


class PlainRow(PlainBase):
    __tablename__ = "kind_plain"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))


Session = scoped_session(sessionmaker(), scopefunc=lambda: id(app_ctx._get_current_object()))


def create_plain_app(config: dict[str, t.Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(KIND_URL="postgresql://postgres@127.0.0.1:5432/kindapp")
    app.config.update(config or {})
    engine = sa.create_engine(app.config["KIND_URL"])
    Session.session_factory.configure(bind=engine)
    app.extensions["session"] = Session  # found there: no 'session' setting needed
    app.teardown_appcontext(lambda exc: Session.remove())

    @app.post("/plain")
    def write_plain() -> t.Any:
        Session.add(PlainRow(name="request"))
        Session.commit()
        return jsonify(ok=True)

    @app.post("/plain/request-engine")
    def write_request_engine() -> t.Any:
        engine = sa.create_engine(current_app.config["KIND_URL"], poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            conn.execute(sa.insert(PlainRow).values(name="request engine"))
        return jsonify(ok=True)

    return app
