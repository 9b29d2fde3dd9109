import sqlalchemy as sa
from flask import Flask, jsonify, request, url_for
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Thing(db.Model):
    __tablename__ = "parity_things"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)


class Audit(db.Model):
    """In the 'audit' bind: a second database."""

    __bind_key__ = "audit"
    __tablename__ = "parity_audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(sa.String(80))


def create_app(config=None):
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI="postgresql://postgres@127.0.0.1:5432/parity",
        SQLALCHEMY_BINDS={"audit": "postgresql://postgres@127.0.0.1:5432/parity_audit"},
        GREETING="hello",
    )
    app.config.update(config or {})
    db.init_app(app)

    @app.get("/things/<name>")
    def show_thing(name):
        thing = db.session.scalars(sa.select(Thing).filter_by(name=name)).one_or_none()
        return jsonify(
            found=thing is not None,
            method=request.method,
            query=request.args.get("q"),
            url=url_for("show_thing", name=name),
            greeting=app.config["GREETING"],
        )

    return app
