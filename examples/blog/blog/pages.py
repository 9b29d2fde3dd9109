"""The blog's HTML pages: log in, write a post, the list, and a feed loaded with fetch().

A demo: logging in takes a username only (no password), kept in Flask's
signed session cookie. The JSON API in views.py serves the feed page's
``fetch("/posts")``.
"""

from flask import Blueprint, redirect, render_template, request, session, url_for
from sqlalchemy import select

from .models import Post, User, db

pages = Blueprint("pages", __name__)


def current_user():
    user_id = session.get("user_id")
    return db.session.get(User, user_id) if user_id is not None else None


@pages.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        username = request.form.get("username", "")
        user = db.session.scalar(select(User).filter_by(username=username))
        if user is not None:
            session["user_id"] = user.id
            return redirect(url_for("pages.write"))
        error = f"No user named {username!r}."
    return render_template("login.html", error=error)


@pages.route("/write", methods=["GET", "POST"])
def write():
    user = current_user()
    if user is None:
        return redirect(url_for("pages.login"))
    if request.method == "POST":
        db.session.add(
            Post(author=user, title=request.form["title"], body=request.form.get("body", ""))
        )
        db.session.commit()
        return redirect(url_for("pages.post_list"))
    return render_template("write.html", user=user)


@pages.get("/list")
def post_list():
    posts = db.session.scalars(select(Post).order_by(Post.id)).all()
    return render_template("list.html", posts=posts, user=current_user())


@pages.get("/feed")
def feed():
    return render_template("feed.html", user=current_user())
