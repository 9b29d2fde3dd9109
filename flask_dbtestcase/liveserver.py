"""``FlaskDBLiveServerTestCase``, importable where it always was (see :mod:`.cases.liveserver`)."""

from __future__ import annotations

from .cases.liveserver import FlaskDBLiveServerTestCase

__all__ = ["FlaskDBLiveServerTestCase"]
