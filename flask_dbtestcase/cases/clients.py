"""Test client and CLI runner that give each request or command its own app context.

A test case keeps an app context pushed so that ``db.session`` and
``Model.query`` work in test methods. Flask reuses a pushed app context for
requests of the same app, so a request made from a test would share the
test's session and skip ``teardown_appcontext`` — unlike production, where
every request gets a fresh session. These subclasses hide the test's app
context while a request or a command runs, so the app builds its own.
"""

from __future__ import annotations

import contextvars
import typing as t

import flask.globals
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from werkzeug.test import TestResponse

__all__ = ["OwnContextCliRunner", "OwnContextClient", "install"]

#: Flask's context variable of the current app context (Flask 2.2 - 3.1). It
#: is not public API, so it is looked up, and a Flask without it is tolerated.
_cv_app: contextvars.ContextVar[t.Any] | None = getattr(flask.globals, "_cv_app", None)


class OwnContextClient(FlaskClient):
    """Send requests that never reuse the test's app context, as a FlaskClient."""

    _hidden: contextvars.Token[t.Any] | None = None

    def open(self, *args: t.Any, **kwargs: t.Any) -> TestResponse:
        if _cv_app is None or _cv_app.get(None) is None or self._hidden is not None:
            return super().open(*args, **kwargs)
        if not self.preserve_context:
            # A fresh contextvars context: no app context at all, as in a new request.
            return contextvars.Context().run(super().open, *args, **kwargs)
        # ``with client:`` keeps the request's contexts pushed after the call;
        # hide the test's context until the block ends.
        self._hidden = _cv_app.set(None)
        return super().open(*args, **kwargs)

    def __exit__(self, *exc_info: t.Any) -> None:
        try:
            super().__exit__(*exc_info)
        finally:
            # _hidden is only ever set when _cv_app exists.
            if self._hidden is not None and _cv_app is not None:
                _cv_app.reset(self._hidden)
                self._hidden = None


class OwnContextCliRunner(FlaskCliRunner):
    """Invoke commands that push their own app context, as a FlaskCliRunner."""

    def invoke(self, *args: t.Any, **kwargs: t.Any) -> Result:
        return contextvars.Context().run(super().invoke, *args, **kwargs)


def install(app: Flask) -> None:
    """Make ``app.test_client()`` and ``app.test_cli_runner()`` use the classes above.

    :param app: the test class's app. Its own client or runner subclass is
        kept, with ours on top.
    """
    for attr, mixin in (
        ("test_client_class", OwnContextClient),
        ("test_cli_runner_class", OwnContextCliRunner),
    ):
        current = getattr(app, attr, None)
        if current is None:
            setattr(app, attr, mixin)
        elif not issubclass(current, mixin):
            base = FlaskClient if mixin is OwnContextClient else FlaskCliRunner
            if current is base:
                setattr(app, attr, mixin)
            else:  # the app's own subclass: keep it, add ours on top
                setattr(app, attr, type(current.__name__, (mixin, current), {}))
