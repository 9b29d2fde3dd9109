"""Live servers: the app served over real HTTP in a thread of the test process.

:class:`LiveServer` serves the run's app on a free local port, each request
in a thread of its own with its own app context and session, as the test
client's requests get them. It is the one implementation behind both
styles: the test case classes here and the pytest plugin's ``live_server``.

:class:`FlaskDBLiveServerTestCase` is a :class:`~.classes.FlaskDBTestCase`
with a server: the app's engines are pinned to the test's connection, so
the server's requests run inside the test's transaction. A browser sees
what the test flushed, the test sees what the browser's requests
committed, and everything is rolled back after the test, by one ``ROLLBACK
TO``. Requests that overlap (a page, its CSS and scripts, its ``fetch()``
calls) take turns on the connection by the nesting of their transactions
(:mod:`..isolation.frames`); each request thread is named after its request
(``request GET /feed``), so a refusal names the requests. At the end of
each test the requests still running are waited for (bounded), then named
in the test's failure. :class:`FlaskDBTransactionLiveServerTestCase` is
Django's ``LiveServerTestCase``: real commits, every table emptied after
each test, for code that needs a connection per thread.
"""

from __future__ import annotations

import threading
import time
import typing as t

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from ..errors import IsolationError
from .classes import FlaskDBTestCase, FlaskDBTransactionTestCase
from .wrapping import WrappedTestCase

__all__ = [
    "REQUEST_TIMEOUT",
    "FlaskDBLiveServerTestCase",
    "FlaskDBTransactionLiveServerTestCase",
    "LiveServer",
    "LiveServing",
    "QuietRequestHandler",
    "unfinished_requests_error",
]

#: How long the end of a test waits for the live server's requests still running (seconds).
REQUEST_TIMEOUT = 10.0


class QuietRequestHandler(WSGIRequestHandler):
    """Don't log every request to stderr in the middle of the test output."""

    def log_request(self, *args: t.Any, **kwargs: t.Any) -> None:
        pass


class _RequestHandler(QuietRequestHandler):
    """Name the request's thread after it, and tell the live server when it is done."""

    server: t.Any  # werkzeug's server, with its LiveServer as ``live_server``

    def run_wsgi(self) -> None:
        live: LiveServer = self.server.live_server
        request = f"{self.command} {self.path}"
        threading.current_thread().name = f"request {request}"
        key = live.started(request)
        try:
            super().run_wsgi()
        finally:  # whatever happened to the connection
            live.done(key)


class LiveServer:
    """Serve ``app`` on a port of ``host`` in a thread, each request in a thread of its own.

    :param app: the app (its engines pinned or not: that is the test case's choice).
    :param host: the address to listen on.
    :param port: the port; 0 picks a free one.
    """

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=_RequestHandler
        )
        self._server.live_server = self  # type: ignore[attr-defined]
        self.port: int = self._server.server_port
        #: The base URL, ``http://host:port``.
        self.url = f"http://{host}:{self.port}"
        self._condition = threading.Condition()
        self._running: dict[int, str] = {}  # request id -> "GET /path"
        self._ids = 0
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"flask-dbtestcase live server on {self.url}",
            daemon=True,
        )
        self._thread.start()

    def started(self, request: str) -> int:
        """Note a request being served (by its handler); return its key for :meth:`done`.

        :param request: ``"GET /path"``.
        """
        with self._condition:
            self._ids += 1
            self._running[self._ids] = request
            return self._ids

    def done(self, key: int) -> None:
        """Note that a request is done (its response sent, or its connection gone).

        :param key: what :meth:`started` returned.
        """
        with self._condition:
            self._running.pop(key, None)
            self._condition.notify_all()

    def running(self) -> list[str]:
        """Return the requests being served now (``"GET /path"``)."""
        with self._condition:
            return list(self._running.values())

    def wait_idle(self, timeout: float = REQUEST_TIMEOUT) -> list[str]:
        """Wait until no request is being served; return those still running after ``timeout``.

        :param timeout: seconds.
        """
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._running:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            return list(self._running.values())

    def stop(self) -> None:
        """Stop serving and wait for the server's thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __str__(self) -> str:
        return self.url


def unfinished_requests_error(requests: t.Sequence[str], timeout: float) -> IsolationError:
    """Return the failure of a test that ended while the live server still served requests.

    :param requests: the requests still running (``"GET /path"``).
    :param timeout: how long the end of the test waited for them, in seconds.
    """
    names = ", ".join(requests)
    return IsolationError(
        f"The test ended while the live server was still serving {names}, and it did "
        f"not finish within {timeout:g} s; the test was rolled back all the same, so "
        "what that request does next may fail or land in the next test. Before the "
        "test returns, wait for what the browser is doing to finish (a WebDriverWait "
        "for the element the request's response shows), or raise the bound "
        "(live_request_timeout on the class)."
    )


class LiveServing(WrappedTestCase):
    """The live server a test case class starts, and the wait for its requests at a test's end.

    The base the two live-server classes share; the app is the class's ``app``.
    """

    host: t.ClassVar[str] = "127.0.0.1"
    port: t.ClassVar[int] = 0  # 0: any free port
    #: How long the end of a test waits for the requests still running (seconds).
    live_request_timeout: t.ClassVar[float] = REQUEST_TIMEOUT
    live_server_url: t.ClassVar[str]
    live_server: t.ClassVar[LiveServer]
    app: t.ClassVar[Flask]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        server = LiveServer(cls.app, cls.host, cls.port)
        cls.live_server = server
        cls.live_server_url = server.url
        cls.addClassCleanup(server.stop)

    def post_teardown(self) -> None:
        unfinished = self.live_server.wait_idle(self.live_request_timeout)
        super().post_teardown()
        if unfinished:
            raise unfinished_requests_error(unfinished, self.live_request_timeout)


class FlaskDBLiveServerTestCase(LiveServing, FlaskDBTestCase):
    """Serve the app on a free local port in a thread; every request runs in the test's transaction.

    ``self.live_server_url`` is the base URL. What the test flushed or
    committed is visible to a browser at once, what the browser's requests
    commit is visible to the test after the request, and all of it is
    rolled back after the test. Overlapping requests take turns on the
    test's connection by the nesting of their transactions.
    """


class FlaskDBTransactionLiveServerTestCase(LiveServing, FlaskDBTransactionTestCase):
    """Serve the app on a free local port in a thread; requests really commit (Django's kind).

    Each request has a connection of its own from the app's pool and really
    commits; every table is emptied after each test. Use it for code that
    needs what one shared connection cannot give (see the docs).
    """
