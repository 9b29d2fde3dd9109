"""The Flask contenders: one base class per isolation strategy, same test logic.

Every contender builds the app once per class (as FlaskDBTestCase does) and
makes its requests with the package's own-context test client, so a request
gets its own app context and session, as in production (otherwise Flask
reuses the test's app context and the request shares the test's session).
"""

from __future__ import annotations

import itertools
import os
import unittest

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase
from flask_dbtestcase.cases import clients

from . import Author, Comment, Post, create_app, db

_tables_ready: set[str] = set()
_counter = itertools.count()


def _url() -> str:
    return os.environ["BENCH_FLASK_DATABASE_URL"]


class _HandWritten(unittest.TestCase):
    """The app per class, an app context pushed; no isolation at all."""

    create_tables_per_class = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": _url()})
        clients.install(cls.app)
        cls._ctx = cls.app.app_context()
        cls._ctx.push()
        cls.db = db
        if cls.create_tables_per_class and _url() not in _tables_ready:
            db.create_all()
            _tables_ready.add(_url())

    @classmethod
    def tearDownClass(cls):
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
        cls._ctx.pop()
        super().tearDownClass()

    @property
    def client(self):
        client = self.__dict__.get("_client")
        if client is None:
            client = self.__dict__["_client"] = self.app.test_client()
        return client

    def tearDown(self):
        db.session.remove()


class NoIsolation(_HandWritten):
    """The reference: the same stack, unique rows per test, nothing cleaned up."""


class DropCreate(_HandWritten):
    """drop_all()/create_all() around every test."""

    create_tables_per_class = False

    def setUp(self):
        db.create_all()

    def tearDown(self):
        db.session.remove()
        db.drop_all()


class Truncate(_HandWritten):
    """TRUNCATE ... RESTART IDENTITY CASCADE after every test."""

    def tearDown(self):
        db.session.remove()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE author, post, comment RESTART IDENTITY CASCADE")


class ConnectionRecipe(_HandWritten):
    """SQLAlchemy's "join a session into an external transaction" recipe.

    Per test: ``engine.connect()``, ``begin()``, and the sessions bound to
    that connection with ``join_transaction_mode="create_savepoint"``. With
    Flask-SQLAlchemy 3 a session-level ``bind=`` is ignored when a default
    engine exists, so the working form (the maintainers' advice, #1167)
    puts the connection in ``db.engines``.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._engine = db.engines[None]
        db.session.session_factory.kw["join_transaction_mode"] = "create_savepoint"

    def setUp(self):
        self._conn = self._engine.connect()
        self._trans = self._conn.begin()
        db.engines[None] = self._conn

    def tearDown(self):
        db.session.remove()
        db.engines[None] = self._engine
        self._trans.rollback()
        self._conn.close()


class FDT(FlaskDBTestCase):
    app_factory = staticmethod(create_app)


CONTENDERS = {
    "fdt": FDT,
    "noiso": NoIsolation,
    "truncate": Truncate,
    "dropall": DropCreate,
    "recipe": ConnectionRecipe,
}

# -- the test logic ----------------------------------------------------------


def t_empty(self):
    pass


def t_onequery(self):
    db.session.execute(sa.select(Author.id).where(Author.id == 1)).first()


def t_suite(self):
    suite_work(self.client)


def suite_work(client) -> None:
    """Workload (c): rows added and committed, two queries, a POST that commits."""
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
    if count != 1 or bodies != ["first"] or resp.status_code != 201:
        raise AssertionError((count, bodies, resp.status_code))


WORKLOADS = {"empty": t_empty, "onequery": t_onequery, "suite": t_suite}


def make_classes(base, workload: str, n_tests: int, per_class: int, prefix: str = "Bench"):
    """``n_tests`` tests of ``workload`` in classes of ``per_class`` tests."""
    func = WORKLOADS[workload]
    classes = []
    for start in range(0, n_tests, per_class):
        count = min(per_class, n_tests - start)
        attrs = {f"test_{i:04d}": func for i in range(count)}
        attrs["__module__"] = __name__
        name = f"{prefix}{base.__name__}{workload.title()}{start // per_class:03d}"
        classes.append(type(name, (base,), attrs))
    return classes
