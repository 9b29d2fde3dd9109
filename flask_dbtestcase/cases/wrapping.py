"""Django's wrapping of each test: isolation set up before ``setUp``, undone after everything.

Django's ``SimpleTestCase.__call__`` runs ``_pre_setup`` before the test's
``setUp`` and ``_post_teardown`` after its ``tearDown`` and clean-ups, so a
test's own hooks run inside the isolation; an error in either is reported as
the test's error. :class:`WrappedTestCase` does the same with the public
hooks :meth:`~WrappedTestCase.pre_setup` and :meth:`~WrappedTestCase.post_teardown`.
"""

from __future__ import annotations

import sys
import typing as t
import unittest

__all__ = ["WrappedTestCase"]


class WrappedTestCase(unittest.TestCase):
    """A TestCase whose every test is wrapped in :meth:`pre_setup` / :meth:`post_teardown`."""

    def __call__(self, result: unittest.TestResult | None = None) -> t.Any:
        return self._setup_and_call(result)

    def debug(self) -> None:
        self._setup_and_call(None, debug=True)

    def _setup_and_call(self, result: t.Any, debug: bool = False) -> t.Any:
        method = getattr(self, self._testMethodName)
        skipped = getattr(type(self), "__unittest_skip__", False) or getattr(
            method, "__unittest_skip__", False
        )
        if not skipped:
            try:
                self.pre_setup()
            except Exception:
                if debug:
                    raise
                (result or self.defaultTestResult()).addError(self, sys.exc_info())
                return None
        outcome = super().debug() if debug else super().__call__(result)
        if not skipped:
            try:
                self.post_teardown()
            except Exception:
                if debug:
                    raise
                if result is not None:
                    result.addError(self, sys.exc_info())
        return outcome

    def pre_setup(self) -> None:
        """Isolate one test: called before ``setUp`` (Django's ``_pre_setup``)."""

    def post_teardown(self) -> None:
        """Undo one test: called after ``tearDown`` (Django's ``_post_teardown``)."""
