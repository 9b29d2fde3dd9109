"""The app's engine and session, made by hand.

``Session`` is scoped to the app context, as Flask-SQLAlchemy scopes its own:
each request, and each test, gets a session of its own, removed when its
context ends. (A thread-local scoped_session would give a test and the
requests it makes through the test client, which run in its thread, one
shared session.)
"""

from flask import current_app
from flask.globals import app_ctx
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker


def _app_context_id():
    return id(app_ctx._get_current_object())


Session = scoped_session(sessionmaker(expire_on_commit=False), scopefunc=_app_context_id)


def init_app(app):
    """Make the app's engine from its config, bind the session to it, remove it per context."""
    engine = create_engine(app.config["DATABASE_URL"], pool_size=5)
    app.extensions["todo.engine"] = engine
    Session.session_factory.configure(bind=engine)
    app.teardown_appcontext(lambda exc: Session.remove())


def reporting_engine():
    """A second engine, made on first use (at request time), for the slow report queries."""
    engine = current_app.extensions.get("todo.reporting_engine")
    if engine is None:
        engine = create_engine(current_app.config["DATABASE_URL"], pool_size=2)
        current_app.extensions["todo.reporting_engine"] = engine
    return engine
