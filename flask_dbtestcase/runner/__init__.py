"""The test runner: one test database for the whole run, Django's way.

:class:`DBTestRunner` (in :mod:`.testrunner`) is what ``python -m
flask_dbtestcase``, ``flask test`` and ``runtests.py`` run (through
:func:`main`, in :mod:`.command`); subclass it and name it with ``--runner
module:Class``.
"""

from __future__ import annotations

from .command import build_parser, main
from .results import DBTestResult
from .testrunner import DBTestRunner

__all__ = ["DBTestResult", "DBTestRunner", "build_parser", "main"]
