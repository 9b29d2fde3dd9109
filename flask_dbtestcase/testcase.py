"""The test case classes, importable where they always were (see :mod:`.cases.testcase`)."""

from __future__ import annotations

from .cases.testcase import FlaskDBTestCase, FlaskDBTransactionTestCase

__all__ = ["FlaskDBTestCase", "FlaskDBTransactionTestCase"]
