"""``flask dbtest`` and ``flask test``: the runner as Flask CLI commands.

Both are registered through the ``flask.commands`` entry point. Flask looks
plugin commands up before the app's own, so a plugin's ``test`` would shadow
the ``test`` command many apps define (cookiecutter-flask, the Flasky book
app). ``flask test`` therefore loads the app the way ``flask`` does for any
of the app's commands and, when the app has a ``test`` command of its own,
runs that one instead; ``flask dbtest`` is always the runner, and never loads
the app.

The runner does not need the loaded app (test classes create their own apps
against the test database): the app ``flask`` would find (``--app``,
``FLASK_APP``, else ``wsgi.py`` or ``app.py`` in the current directory) is
handed on as the default app factory, as an argument, not through the
environment; every argument goes to the same argparse runner as
``python -m flask_dbtestcase``.
"""

from __future__ import annotations

import os
import sys

import click
from flask.cli import ScriptInfo

__all__ = ["app_factory_spec", "dbtest_command", "load_failed_line", "test_command"]

_CONTEXT = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}


def app_factory_spec(info: ScriptInfo | None) -> str | None:
    """Return the app ``flask`` would load, as an ``app_factory`` spec.

    ``--app``/``FLASK_APP`` as given; else ``wsgi`` or ``app``, the first of
    ``wsgi.py`` and ``app.py`` in the current directory, as ``flask`` looks
    for them (the module's ``create_app``/``make_app`` is the factory).

    :param info: the Flask CLI's script info.
    """
    if info is not None and info.app_import_path:
        return info.app_import_path
    for module in ("wsgi", "app"):
        if os.path.isfile(f"{module}.py"):
            return module
    return None


def _run_runner(ctx: click.Context, args: tuple[str, ...]) -> None:
    # Imported when the command runs: `flask` loads this module for every
    # command it lists, and most of them never run the tests.
    from .command import main

    code = main(
        list(args), prog=ctx.command_path, app_factory=app_factory_spec(ctx.find_object(ScriptInfo))
    )
    sys.stdout.flush()
    ctx.exit(code)


def _apps_own_test_command(ctx: click.Context) -> click.Command | None:
    """Return the app's own ``test`` command, if the app loads and has one.

    An app that ``flask`` finds but cannot load is named, with why, in one
    line; the runner runs all the same (its test classes build their own apps).
    """
    info = ctx.find_object(ScriptInfo)
    if info is None:  # pragma: no cover - flask always provides ScriptInfo
        return None
    try:
        app = info.load_app()
    except Exception as exc:
        spec = app_factory_spec(info)
        if spec is not None:  # an app, that failed to load (none at all: nothing to say)
            click.echo(load_failed_line(spec, exc), err=True)
        return None
    command = app.cli.get_command(ctx, "test")
    return None if command in (None, test_command, dbtest_command) else command


def load_failed_line(spec: str, exc: BaseException) -> str:
    """Say in one line that ``flask`` could not load the app, why, and what runs instead.

    :param spec: the app ``flask`` looked for (``--app``, ``FLASK_APP``, ``wsgi``/``app``).
    :param exc: what loading it raised.
    """
    from ..cases.factory import missing_driver_advice  # the failure path only
    from ..cases.usercode import where

    # Flask wraps an ImportError raised inside the app's module in a
    # NoAppException holding the whole traceback; the error itself is its context.
    error = exc
    if type(exc).__name__ == "NoAppException" and exc.__context__ is not None:
        error = exc.__context__
    text = str(error).strip().splitlines()
    why = f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
    advice = missing_driver_advice(error)
    return (
        f"flask test: the app '{spec}' failed to load: {why}{where(error)}, so its own "
        "'test' command, if it has one, cannot run; running flask-dbtestcase's runner "
        "(flask dbtest), whose test classes build the app themselves."
        + (f" {advice}" if advice else "")
    )


@click.command(
    "dbtest",
    context_settings=_CONTEXT,
    add_help_option=False,
    short_help="Run the tests against a throwaway test database (flask-dbtestcase).",
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def dbtest_command(ctx: click.Context, args: tuple[str, ...]) -> None:
    """Run the tests (unittest discovery and labels) against a test database
    created for the run and destroyed after it. Run `flask dbtest --help` for
    the options."""
    _run_runner(ctx, args)


@click.command(
    "test",
    context_settings=_CONTEXT,
    add_help_option=False,
    short_help="The app's own test command if it has one, else flask dbtest.",
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def test_command(ctx: click.Context, args: tuple[str, ...]) -> None:
    """Run the app's own `test` command when it defines one; otherwise run
    the tests against a test database, as `flask dbtest` does."""
    own = _apps_own_test_command(ctx)
    if own is None:
        _run_runner(ctx, args)
        return
    click.echo(
        "flask test: running the app's own 'test' command; flask-dbtestcase's runner "
        "is 'flask dbtest'.",
        err=True,
    )
    with own.make_context("test", list(args), parent=ctx.parent) as own_ctx:
        own.invoke(own_ctx)
