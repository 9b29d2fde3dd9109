"""The realistic suite as pytest functions on the plugin's fixtures, for ``python -m pytest``.

The same test as ``e2e_tests`` (``cases.t_suite``), written the pytest way:
``db`` and ``client`` instead of a FlaskDBTestCase class. The app is the
project's default one: run it with ``FLASK_APP=flaskbench:create_app``.
"""

import itertools
import os

import sqlalchemy as sa

from . import Author, Comment, Post

_counter = itertools.count()


def _suite(db, client):
    tag = f"{os.getpid()}-{next(_counter)}"
    session = db.session
    author = Author(name=f"author-{tag}")
    post = Post(author=author, title=f"post {tag}")
    session.add_all([author, post, Comment(post=post, body="first")])
    session.flush()
    author_id, post_id = author.id, post.id
    session.commit()
    count = session.scalar(
        sa.select(sa.func.count()).select_from(Post).where(Post.author_id == author_id)
    )
    bodies = session.scalars(sa.select(Comment.body).where(Comment.post_id == post_id)).all()
    resp = client.post(f"/posts/{post_id}/comments", json={"body": "second"})
    assert (count, bodies, resp.status_code) == (1, ["first"], 201)


for _i in range(int(os.environ.get("BENCH_SUITE_TESTS", "300"))):
    globals()[f"test_{_i:04d}"] = _suite
del _i
