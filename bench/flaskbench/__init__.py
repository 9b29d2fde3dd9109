"""The Flask + Flask-SQLAlchemy app every Flask contender tests: 3 models, 1 view that commits."""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, abort, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped, mapped_column, relationship

db = SQLAlchemy()


class Author(db.Model):
    __tablename__ = "author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)


class Post(db.Model):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("author.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    author: Mapped[Author] = relationship()


class Comment(db.Model):
    __tablename__ = "comment"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("post.id"), index=True)
    body: Mapped[str] = mapped_column(sa.Text)
    post: Mapped[Post] = relationship()


def add_comment(post_id: int):
    post = db.session.get(Post, post_id)
    if post is None:
        abort(404)
    comment = Comment(post=post, body=request.get_json()["body"])
    db.session.add(comment)
    db.session.commit()
    return jsonify(id=comment.id), 201


def create_app(config=None) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get(
        "BENCH_FLASK_DATABASE_URL", "postgresql+psycopg2:///flaskbench"
    )
    app.config.update(config or {})
    db.init_app(app)
    app.add_url_rule("/posts/<int:post_id>/comments", view_func=add_comment, methods=["POST"])
    return app
