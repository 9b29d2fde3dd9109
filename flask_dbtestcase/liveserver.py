"""``FlaskDBLiveServerTestCase``, importable where it always was (see :mod:`.cases.live`)."""

from __future__ import annotations

from .cases.live import FlaskDBLiveServerTestCase

__all__ = ["FlaskDBLiveServerTestCase"]
