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

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

try:  # Flask 2.2 - 3.1
    from flask.globals import _cv_app
except ImportError:  # pragma: no cover - a Flask without the context variable
    _cv_app = None


class OwnContextClient(FlaskClient):
    """A FlaskClient whose requests never reuse the test's app context."""

    _hidden: contextvars.Token[t.Any] | None = None

    def open(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
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
            if self._hidden is not None:
                _cv_app.reset(self._hidden)  # type: ignore[union-attr]
                self._hidden = None


class OwnContextCliRunner(FlaskCliRunner):
    """A FlaskCliRunner whose commands push their own app context."""

    def invoke(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        return contextvars.Context().run(super().invoke, *args, **kwargs)


def install(app: Flask) -> None:
    """Make ``app.test_client()`` and ``app.test_cli_runner()`` use the classes above."""
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
