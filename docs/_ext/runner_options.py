"""The ``runner-options`` directive: every option of the runner, from its parser.

The list is read from ``flask_dbtestcase.runner.build_parser()`` at build
time, the parser ``python -m flask_dbtestcase`` and ``flask test`` use, so
it shows every option with its real spelling, argument and help text.
"""

from __future__ import annotations

import argparse
import typing as t

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

if t.TYPE_CHECKING:
    from sphinx.application import Sphinx


def _invocation(action: argparse.Action) -> str:
    """``-v/--verbosity {0,1,2,3}``, ``--parallel [N]``, ``--keepdb``."""
    names = "/".join(action.option_strings)
    if action.nargs == 0:
        return names
    if action.choices is not None:
        arg = "{" + ",".join(str(c) for c in action.choices) + "}"
    else:
        arg = action.metavar or action.dest.upper()
    if action.nargs == "?":
        arg = f"[{arg}]"
    return f"{names} {arg}"


def runner_actions() -> list[argparse.Action]:
    """Return the options of the runner's command line, in --help order, without -h."""
    from flask_dbtestcase.runner import build_parser

    parser = build_parser()
    return [
        action
        for action in parser._actions
        if action.option_strings and not isinstance(action, argparse._HelpAction)
    ]


class RunnerOptions(SphinxDirective):
    """Render the runner's options as a definition list."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        import flask_dbtestcase.runner.command as command
        import flask_dbtestcase.runner.options as options

        for module in (options, command):
            self.env.note_dependency(module.__file__)
        items = nodes.definition_list(classes=["runner-options"])
        for action in runner_actions():
            term = nodes.term()
            term += nodes.literal(text=_invocation(action))
            definition = nodes.definition()
            # argparse help is plain text, not reStructuredText: kept as text.
            help_text = (action.help or "").replace("%%", "%")
            definition += nodes.paragraph(text=help_text)
            items += nodes.definition_list_item("", term, definition)
        return [items]


def setup(app: Sphinx) -> dict[str, t.Any]:
    app.add_directive("runner-options", RunnerOptions)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
