"""Every request and CLI command under test gets its own app context, as in production.

A test runs inside an app context of its own, so that ``db.session`` and
``Model.query`` work in test methods. Flask reuses a pushed app context for
requests of the same app: a request made from a test would share the test's
``g`` and session and skip ``teardown_appcontext``, unlike production, where
every request starts from nothing. So the app's WSGI callable is wrapped:
whoever calls it (the test client, WebTest, a raw WSGI call, the live
server), the request runs in a fresh :mod:`contextvars` context, where Flask
pushes a new app context and the app gets a new session. CLI commands get
the same from :class:`OwnContextCliRunner`.

After each request or command, the objects the caller's session holds
unmodified are expired, so the test's next read shows what the request
committed, as another client's next read would in production.
"""

from __future__ import annotations

import contextvars
import typing as t

import flask.globals
import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from .appkinds import EXTENSION_KEY

__all__ = [
    "ClientAttribute",
    "OwnContextCliRunner",
    "OwnContextWSGI",
    "expire_unmodified",
    "install",
]

#: Flask's context variable of the current app context (Flask 2.2 - 3.1). It
#: is not public API, so it is looked up, and a Flask without it is tolerated.
_cv_app: contextvars.ContextVar[t.Any] | None = getattr(flask.globals, "_cv_app", None)

_WSGIApp = t.Callable[[dict[str, t.Any], t.Callable[..., t.Any]], t.Iterable[bytes]]


def _caller_context(app: Flask) -> t.Any:
    """Return the app context of ``app`` the caller runs in, or None."""
    ctx = _cv_app.get(None) if _cv_app is not None else None
    return ctx if ctx is not None and ctx.app is app else None


def expire_unmodified(app: Flask) -> None:
    """Expire what the current app context's session holds unmodified.

    Of an object the caller changed and has not flushed, only the attributes
    it did not change are expired.

    :param app: the app; nothing happens outside one of its app contexts.
    """
    database = app.extensions.get(EXTENSION_KEY)  # the app's session, whatever its kind
    scoped = database.session if database is not None else None
    if scoped is None or _caller_context(app) is None or not scoped.registry.has():
        return
    session = scoped()
    deleted = set(map(id, session.deleted))
    for obj in list(session.identity_map.values()):
        if id(obj) in deleted:
            continue
        state = sa.inspect(obj)
        if not state.modified:
            session.expire(obj)
        else:  # keep the test's changes, refresh the rest
            names = [name for name in state.unmodified if name in state.dict]
            if names:
                session.expire(obj, names)


class _InContext:
    """A response iterable consumed (and closed) in the request's own context."""

    def __init__(self, iterable: t.Iterable[bytes], ctx: contextvars.Context, app: Flask) -> None:
        self._iterator = iter(iterable)
        self._iterable, self._ctx, self._app = iterable, ctx, app

    def __iter__(self) -> t.Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return self._ctx.run(next, self._iterator)

    def close(self) -> None:
        close = getattr(self._iterable, "close", None)
        try:
            if close is not None:
                self._ctx.run(close)
        finally:
            expire_unmodified(self._app)


class OwnContextWSGI:
    """Wrap an app's WSGI callable so each request runs in a context of its own.

    :param app: the Flask app.
    :param wsgi_app: its WSGI callable as it was (maybe with the app's own
        middleware around it).
    """

    def __init__(self, app: Flask, wsgi_app: _WSGIApp) -> None:
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(
        self, environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]
    ) -> t.Iterable[bytes]:
        """Run one request in a fresh context.

        :param environ: the WSGI environment.
        :param start_response: the WSGI ``start_response``.
        """
        if _cv_app is None or _cv_app.get(None) is None:
            return self.wsgi_app(environ, start_response)  # nothing to hide
        ctx = contextvars.Context()
        try:
            result = ctx.run(self.wsgi_app, environ, start_response)
        except BaseException:
            expire_unmodified(self.app)
            raise
        expire_unmodified(self.app)
        return _InContext(result, ctx, self.app)


class OwnContextCliRunner(FlaskCliRunner):
    """Invoke commands that push their own app context, as a FlaskCliRunner."""

    def invoke(self, *args: t.Any, **kwargs: t.Any) -> Result:
        try:
            return contextvars.Context().run(super().invoke, *args, **kwargs)
        finally:
            expire_unmodified(self.app)


class ClientAttribute:
    """``client`` of a test case: the test's Flask test client, or the class's in class hooks.

    Each request gets its own app context and session. The test's client is
    new for each test (no cookies carried over); the class's, used in
    ``setUpClass`` or ``setUpTestData``, makes requests whose commits become
    part of the class's data.
    """

    _CLASS_CLIENT = "_fdt_class_client"

    def __get__(self, instance: t.Any, owner: type) -> FlaskClient:
        if instance is None and "app" not in owner.__dict__:
            return t.cast(FlaskClient, self)  # a class not set up: introspection, docs
        holder = owner.__dict__ if instance is None else instance.__dict__
        client = holder.get(self._CLASS_CLIENT)
        if client is None:
            client = t.cast(t.Any, owner).app.test_client()
            if instance is None:
                setattr(owner, self._CLASS_CLIENT, client)
            else:
                instance.__dict__[self._CLASS_CLIENT] = client
        return t.cast(FlaskClient, client)

    @classmethod
    def forget(cls, owner: type) -> None:
        """Drop the class's client (at the end of the class).

        :param owner: the test class.
        """
        if cls._CLASS_CLIENT in owner.__dict__:
            delattr(owner, cls._CLASS_CLIENT)


def install(app: Flask) -> None:
    """Give every request and command of ``app`` its own app context (once per app).

    :param app: the app under test. Its own CLI runner subclass is kept,
        with ours on top.
    """
    if not isinstance(app.wsgi_app, OwnContextWSGI):
        app.wsgi_app = OwnContextWSGI(app, app.wsgi_app)  # type: ignore[method-assign]
    current = app.test_cli_runner_class
    if current is None or current is FlaskCliRunner:
        app.test_cli_runner_class = OwnContextCliRunner
    elif not issubclass(current, OwnContextCliRunner):  # the app's own: ours on top
        app.test_cli_runner_class = type(current.__name__, (OwnContextCliRunner, current), {})
