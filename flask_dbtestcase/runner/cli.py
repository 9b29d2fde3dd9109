"""``flask test``: the runner as a Flask CLI command.

Registered through the ``flask.commands`` entry point. The command does not
load the application itself (test classes create their own apps against the
test database); it only hands ``--app``/``FLASK_APP`` on as the default app
factory (as an argument, not through the environment), then passes every
argument to the same argparse runner as ``python -m flask_dbtestcase``.
"""

from __future__ import annotations

import sys

import click
from flask.cli import ScriptInfo

__all__ = ["test_command"]


@click.command(
    "test",
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "help_option_names": [],
    },
    add_help_option=False,
    short_help="Run the tests against a throwaway test database.",
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def test_command(ctx: click.Context, args: tuple[str, ...]) -> None:
    """Run the tests (unittest discovery and labels) against a test database
    created for the run and destroyed after it. Run `flask test --help` for
    the options."""
    # Imported when the command runs: `flask` loads this module for every
    # command it lists, and most of them never run the tests.
    from .command import main

    app_import_path = None
    try:
        info = ctx.find_object(ScriptInfo)
        if info is not None:
            app_import_path = info.app_import_path
    except Exception:  # pragma: no cover - flask always provides ScriptInfo
        app_import_path = None
    code = main(list(args), prog="flask test", app_factory=app_import_path)
    sys.stdout.flush()
    ctx.exit(code)
