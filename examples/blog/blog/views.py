import click
from flask import Blueprint, abort, jsonify, request
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .models import Comment, Post, Tag, User, db

bp = Blueprint("blog", __name__, cli_group="blog")


def json_body(*required):
    data = request.get_json(silent=True) or {}
    missing = [name for name in required if not data.get(name)]
    if missing:
        abort(400, f"missing field(s): {', '.join(missing)}")
    return data


@bp.app_errorhandler(400)
@bp.app_errorhandler(404)
def json_error(error):
    return jsonify(error=error.description), error.code


@bp.post("/users")
def create_user():
    data = json_body("username")
    user = User(username=data["username"])
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return jsonify(error="username already taken"), 409
    return jsonify(user.to_dict()), 201


@bp.get("/users/<int:user_id>")
def get_user(user_id):
    row = db.session.execute(
        select(User, func.count(Post.id))
        .outerjoin(User.posts)
        .where(User.id == user_id)
        .group_by(User.id)
    ).first()
    if row is None:
        abort(404, "no such user")
    user, post_count = row
    return jsonify(user.to_dict() | {"post_count": post_count})


@bp.post("/posts")
def create_post():
    data = json_body("user_id", "title")
    # One explicit transaction for the whole write: committed at the end of
    # the block, rolled back if anything in it raises (abort() included).
    with db.session.begin():
        author = db.session.get(User, data["user_id"])
        if author is None:
            abort(404, "no such user")
        names = list(dict.fromkeys(data.get("tags", [])))
        existing = db.session.scalars(select(Tag).where(Tag.name.in_(names)))
        tags = {tag.name: tag for tag in existing}
        post = Post(
            author=author,
            title=data["title"],
            body=data.get("body", ""),
            tags=[tags.get(name) or Tag(name=name) for name in names],
        )
        db.session.add(post)
    return jsonify(post.to_dict()), 201


@bp.get("/posts")
def list_posts():
    rows = db.session.execute(
        select(
            Post.id,
            Post.title,
            User.username.label("author"),
            func.count(Comment.id).label("comment_count"),
        )
        .join(Post.author)
        .outerjoin(Post.comments)
        .group_by(Post.id, User.username)
        .order_by(Post.id)
    )
    return jsonify([row._asdict() for row in rows])


@bp.get("/posts/<int:post_id>")
def get_post(post_id):
    return jsonify(db.get_or_404(Post, post_id).to_dict())


@bp.post("/posts/<int:post_id>/comments")
def add_comment(post_id):
    post = db.get_or_404(Post, post_id)
    data = json_body("user_id", "body")
    author = db.session.get(User, data["user_id"])
    if author is None:
        abort(404, "no such user")
    comment = Comment(post=post, author=author, body=data["body"])
    db.session.add(comment)
    db.session.commit()
    return jsonify(comment.to_dict()), 201


@bp.delete("/posts/<int:post_id>")
def delete_post(post_id):
    db.session.delete(db.get_or_404(Post, post_id))
    db.session.commit()
    return "", 204


@bp.cli.command("init-db")
def init_db():
    """Create the tables."""
    db.create_all()
    click.echo("Created the tables.")


@bp.cli.command("seed")
def seed():
    """Add a few demo users, posts and tags."""
    if db.session.scalar(select(User).filter_by(username="alice")) is not None:
        click.echo("Already seeded, nothing to do.")
        return
    alice, bob = User(username="alice"), User(username="bob")
    flask_tag = Tag(name="flask")
    db.session.add_all(
        [
            Post(author=alice, title="Hello, world", body="First post.", tags=[flask_tag]),
            Post(
                author=bob,
                title="Testing Flask apps",
                body="Use a real database.",
                tags=[flask_tag, Tag(name="testing")],
                comments=[Comment(author=alice, body="Agreed!")],
            ),
        ]
    )
    db.session.commit()
    click.echo("Seeded 2 users, 2 posts, 2 tags and 1 comment.")
