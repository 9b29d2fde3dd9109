"""Django-style TestCase classes and test runner for Flask + Flask-SQLAlchemy on PostgreSQL."""

from __future__ import annotations

import importlib
import typing as t

from .errors import (
    ConfigurationError,
    DBTestCaseError,
    IsolationError,
    PostgreSQLNotFound,
    UnsafeDatabaseError,
)
from .tags import tag

if t.TYPE_CHECKING:
    from .cases.classes import FlaskDBTestCase, FlaskDBTransactionTestCase
    from .cases.live import FlaskDBLiveServerTestCase, FlaskDBTransactionLiveServerTestCase

__all__ = [
    "ConfigurationError",
    "DBTestCaseError",
    "FlaskDBLiveServerTestCase",
    "FlaskDBTestCase",
    "FlaskDBTransactionLiveServerTestCase",
    "FlaskDBTransactionTestCase",
    "IsolationError",
    "PostgreSQLNotFound",
    "UnsafeDatabaseError",
    "tag",
]
__version__ = "0.1.0"

_LAZY = {
    "FlaskDBTestCase": "cases.classes",
    "FlaskDBTransactionTestCase": "cases.classes",
    "FlaskDBLiveServerTestCase": "cases.live",
    "FlaskDBTransactionLiveServerTestCase": "cases.live",
}


def __getattr__(name: str) -> t.Any:
    """Import the test case classes on first use, so the runner's --help is fast.

    :param name: the attribute asked for.
    """
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
