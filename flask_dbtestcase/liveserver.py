"""Live servers for real HTTP clients and browsers (see :mod:`.cases.live`).

``FlaskDBLiveServerTestCase`` serves the app inside the test's rolled-back
transaction; ``FlaskDBTransactionLiveServerTestCase`` lets its requests
really commit and empties the tables after each test. ``LiveServer`` is the
server both use, and the pytest plugin's ``live_server`` fixture too.
"""

from __future__ import annotations

from .cases.live import FlaskDBLiveServerTestCase, FlaskDBTransactionLiveServerTestCase, LiveServer

__all__ = ["FlaskDBLiveServerTestCase", "FlaskDBTransactionLiveServerTestCase", "LiveServer"]
