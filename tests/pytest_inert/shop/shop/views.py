from flask import Blueprint, jsonify, redirect, request, url_for

from shop.models import User, db, usernames

blueprint = Blueprint("public", __name__)


@blueprint.get("/")
def home():
    return "Home"


@blueprint.get("/users")
def users():
    return jsonify(usernames())


@blueprint.post("/users")
def add_user():
    db.session.add(User(username=request.form["username"]))
    db.session.commit()
    return redirect(url_for("public.users"))
