"""Building the test schema from the project's Flask-Migrate (Alembic) migrations.

``schema = "migrations"`` on a test class (or ``schema = "migrations"`` under
``[tool.flask-dbtestcase]``) runs ``upgrade head`` once per test database
instead of ``create_all()``, as Django's runner runs ``migrate``.
:func:`check_migrations` is the equivalent of ``makemigrations --check``: it
fails when the models hold changes no migration has.
"""

from __future__ import annotations

import contextlib
import io
import logging
import typing as t

from flask import Flask

from ..errors import ConfigurationError

__all__ = ["check_migrations", "run_migrations"]


def _flask_migrate(app: Flask) -> t.Any:
    try:
        # Imported here: Flask-Migrate is optional, and slow to import (Alembic).
        import flask_migrate
    except ImportError:
        raise ConfigurationError(
            "schema = 'migrations' needs Flask-Migrate: pip install flask-migrate "
            "(or flask-dbtestcase[migrate])."
        ) from None
    if "migrate" not in app.extensions:
        raise ConfigurationError(
            "schema = 'migrations' needs Flask-Migrate set up on the app. Did you "
            "forget to call 'migrate.init_app(app, db)' (or Migrate(app, db)) in the "
            "app factory?"
        )
    return flask_migrate


@contextlib.contextmanager
def _alembic_quiet() -> t.Iterator[io.StringIO]:
    """Keep app loggers alive and Alembic's INFO lines out of the test output.

    Flask-Migrate's env.py calls logging.config.fileConfig(), which disables
    every logger that exists, app loggers included, for the rest of the run.
    """
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    saved = {lg: (lg.disabled, lg.level, list(lg.handlers)) for lg in loggers}
    captured = io.StringIO()
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(contextlib.redirect_stderr(captured))
            stack.enter_context(contextlib.redirect_stdout(captured))
            with contextlib.suppress(ImportError):
                # Imported here: Alembic is optional, and slow to import.
                from alembic.config import Config

                # Config binds sys.stdout as a default argument at import time.
                # (Swapped by hand: unittest.mock costs ~40 ms to import.)
                original = Config.__dict__["print_stdout"]

                def quiet(self: t.Any, text: str, *arg: t.Any) -> None:
                    captured.write(text % arg + "\n")

                Config.print_stdout = quiet  # type: ignore[method-assign]
                stack.callback(setattr, Config, "print_stdout", original)
            yield captured
    finally:
        for lg, (disabled, level, handlers) in saved.items():
            lg.disabled, lg.level, lg.handlers = disabled, level, handlers
        for name, logger in logging.Logger.manager.loggerDict.items():
            if (
                isinstance(logger, logging.Logger)
                and logger not in saved
                and name.startswith("alembic")
            ):
                logger.handlers = []


def _run(app: Flask, what: str, command: t.Callable[[], None]) -> None:
    with _alembic_quiet() as log:
        try:
            with app.app_context():
                command()
        except SystemExit:  # Flask-Migrate's catch_errors: log.error + sys.exit(1)
            raise ConfigurationError(
                f"{what} failed. Alembic said:\n{log.getvalue().strip()}"
            ) from None
        except Exception as exc:
            raise ConfigurationError(f"{what} failed with {type(exc).__name__}: {exc}") from None


def run_migrations(app: Flask, directory: str | None = None) -> None:
    """Run ``flask db upgrade`` on the app's (test) databases.

    :param app: the app, with Flask-Migrate set up.
    :param directory: the migrations directory (default: Flask-Migrate's).
    """
    flask_migrate = _flask_migrate(app)
    _run(
        app,
        "Running the migrations (upgrade head)",
        lambda: flask_migrate.upgrade(directory=directory),
    )


def check_migrations(app: Flask, directory: str | None = None) -> None:
    """Raise ConfigurationError when the models have changes no migration has.

    :param app: the app, with Flask-Migrate set up.
    :param directory: the migrations directory (default: Flask-Migrate's).
    """
    flask_migrate = _flask_migrate(app)
    try:
        _run(app, "Checking the migrations", lambda: flask_migrate.check(directory=directory))
    except ConfigurationError as exc:
        raise ConfigurationError(
            "The models and the migrations disagree: the models have changes that no "
            "migration makes. Run 'flask db migrate' to write a migration for them, "
            f"then review and commit it. ({exc})"
        ) from None
