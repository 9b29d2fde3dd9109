"""The test runner: one test database for the whole run, Django's way.

:class:`DBTestRunner` (in :mod:`.discover`) is what ``python -m
flask_dbtestcase``, ``flask test`` and ``runtests.py`` run; subclass it and
name it with ``--runner module:Class``.
"""

from __future__ import annotations

from .discover import DBTestRunner, build_parser, main
from .results import DBTestResult

__all__ = ["DBTestResult", "DBTestRunner", "build_parser", "main"]
