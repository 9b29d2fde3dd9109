"""Errors a user sees: one paragraph, plain words, what to do next."""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "DBTestCaseError",
    "IsolationError",
    "PostgreSQLNotFound",
    "UnsafeDatabaseError",
]


class DBTestCaseError(Exception):
    """Base class for every error flask-dbtestcase raises on purpose.

    The runner prints ``str(error)`` without a traceback: the message must
    say what went wrong and what to do about it.
    """


class ConfigurationError(DBTestCaseError):
    """The project, the app factory or a database URL is set up wrongly."""


class PostgreSQLNotFound(DBTestCaseError):
    """No PostgreSQL server binaries were found to start a throwaway server."""


class UnsafeDatabaseError(DBTestCaseError):
    """A destructive step was about to run against a database that is not a test database."""


class IsolationError(DBTestCaseError):
    """A test broke the transaction that keeps it isolated."""
