"""The run this process belongs to: one handle, set by the edge that started it.

The runner, the pytest plugin, or (when neither runs) the first test class
settles the settings once and opens the test databases
(:func:`~flask_dbtestcase.databases.lifecycle.open_test_databases`); the
:class:`Run` they make is what the test classes read. A run started inside
another (a test that runs a suite in-process) enters its own and gives the
enclosing one back when it ends. Only those edges import this module.
"""

from __future__ import annotations

import dataclasses
import typing as t

if t.TYPE_CHECKING:  # the runner's --help imports this module: nothing heavy here
    from .databases.lifecycle import TestDatabases
    from .settings import Settings

__all__ = ["Run", "current_run", "enter_run", "leave_run"]


@dataclasses.dataclass(frozen=True)
class Run:
    """A run: its settings, settled once, and its test databases.

    :param settings: the settings the run's edge read.
    :param databases: the test databases it opened.
    """

    settings: Settings
    databases: TestDatabases


_current: list[Run] = []


def current_run() -> Run | None:
    """Return the run of this process (the innermost one), or ``None`` before any."""
    return _current[-1] if _current else None


def enter_run(run: Run) -> None:
    """Make ``run`` the process's current run (until :func:`leave_run`).

    :param run: the run an edge opened.
    """
    _current.append(run)


def leave_run(run: Run) -> None:
    """End ``run``: the enclosing run, if any, is current again.

    :param run: a run :func:`enter_run` entered.
    """
    if run in _current:
        _current.remove(run)
