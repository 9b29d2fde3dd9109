"""Django-style TestCase classes and test runner for Flask + Flask-SQLAlchemy on PostgreSQL."""

from .errors import ConfigurationError, DBTestCaseError, IsolationError, PostgreSQLNotFound, UnsafeDatabaseError
from .testcase import FlaskDBTestCase, FlaskDBTransactionTestCase

__all__ = [
    "ConfigurationError",
    "DBTestCaseError",
    "FlaskDBTestCase",
    "FlaskDBTransactionTestCase",
    "IsolationError",
    "PostgreSQLNotFound",
    "UnsafeDatabaseError",
]
__version__ = "0.1.0"
