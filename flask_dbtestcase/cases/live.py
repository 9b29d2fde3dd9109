"""FlaskDBLiveServerTestCase: the app served over real HTTP, Django's LiveServerTestCase."""

from __future__ import annotations

import threading
import typing as t

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .classes import FlaskDBTransactionTestCase

__all__ = ["FlaskDBLiveServerTestCase", "QuietRequestHandler"]


class QuietRequestHandler(WSGIRequestHandler):
    """Don't log every request to stderr in the middle of the test output."""

    def log_request(self, *args: t.Any, **kwargs: t.Any) -> None:
        pass


class FlaskDBLiveServerTestCase(FlaskDBTransactionTestCase):
    """Serve the app on a free local port in a thread, for real HTTP clients.

    The server handles requests in threads of its own, possibly several at
    once (a browser loads a page's assets in parallel), so it cannot share
    one test transaction; like Django's LiveServerTestCase this is a
    :class:`FlaskDBTransactionTestCase`: requests really commit, and every
    table is emptied after each test. ``self.live_server_url`` is the base URL.
    """

    host: t.ClassVar[str] = "127.0.0.1"
    port: t.ClassVar[int] = 0  # 0: any free port
    live_server_url: t.ClassVar[str]
    _server: t.ClassVar[BaseWSGIServer]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls._server = make_server(
            cls.host, cls.port, cls.app, threaded=True, request_handler=QuietRequestHandler
        )
        cls.live_server_url = f"http://{cls.host}:{cls._server.server_port}"
        thread = threading.Thread(
            target=cls._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"live server for {cls.__qualname__}",
            daemon=True,
        )
        thread.start()
        cls.addClassCleanup(cls._stop_server, thread)

    @classmethod
    def _stop_server(cls, thread: threading.Thread) -> None:
        cls._server.shutdown()
        cls._server.server_close()
        thread.join(timeout=10)
