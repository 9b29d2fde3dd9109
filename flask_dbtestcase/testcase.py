"""The test case classes, importable where they always were (see :mod:`.cases.classes`)."""

from __future__ import annotations

from .cases.classes import FlaskDBTestCase, FlaskDBTransactionTestCase

__all__ = ["FlaskDBTestCase", "FlaskDBTransactionTestCase"]
