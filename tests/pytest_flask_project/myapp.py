import sqlalchemy as sa
from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Thing(db.Model):
    __tablename__ = "flask_plugin_things"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)


def names():
    return sorted(db.session.scalars(sa.select(Thing.name)))


def create_app(config=None):
    app = Flask(__name__)
    app.config.update(config or {})
    db.init_app(app)

    @app.post("/things")
    def add_thing():
        db.session.add(Thing(name=request.json["name"]))
        db.session.commit()
        return jsonify(ok=True), 201

    @app.get("/things")
    def list_things():
        return jsonify(names())

    @app.get("/accept")
    def accept():
        return jsonify(request.headers.get("Accept"))

    return app
