"""The runner's names, where ``flask_dbtestcase.__main__`` and existing
``--runner`` subclasses import them from.

:class:`DBTestRunner` lives in :mod:`.testrunner`, its options in
:mod:`.options`, and the command line (:func:`build_parser`, :func:`main`)
in :mod:`.command`.
"""

from __future__ import annotations

from .command import build_parser, main
from .ordering import Shuffler
from .results import DBTestResult
from .testrunner import DBTestRunner

__all__ = ["DBTestResult", "DBTestRunner", "Shuffler", "build_parser", "main"]
