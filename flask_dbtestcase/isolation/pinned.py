"""The shared connection as the rest of the package sees it, whatever its driver.

Every engine of a test database hands out one connection (see
:mod:`.engines`), and each logical transaction on it becomes a lazily sent
savepoint. That connection is a driver adapter's connection class
(:mod:`.psycopg2_driver`, :mod:`.psycopg_driver`): a subclass of the
driver's own, which creates a :class:`~.savepoints.SavepointStack` in its
``__init__`` (its :attr:`PinnedConnection.savepoints`), hands the test
case's calls to it and supplies what only the driver does
(:class:`~.protocol.DriverConnection`). ``commit()``, ``rollback()``,
``close()`` and switching to autocommit are no-ops on it: transaction
boundaries are driven by the engine events in
:mod:`~flask_dbtestcase.isolation.routing`, which turn them into
savepoints. :class:`PinnedConnection` is what the adapters' classes have in
common, as a protocol.
"""

from __future__ import annotations

import typing as t

from .autocommit import AutocommitStatements
from .protocol import DriverConnection
from .savepoints import Escape, SavepointStack
from .writecheck import ConnectionWatch

__all__ = ["PinnedConnection", "arm"]


@t.runtime_checkable
class PinnedConnection(DriverConnection, t.Protocol):
    """The one connection all of a test database's engines share (a driver adapter's class)."""

    #: The driver's name, as SQLAlchemy spells it (``psycopg2``, ``psycopg``).
    driver: t.ClassVar[str]
    #: The driver's base exception class.
    driver_error: t.ClassVar[type[Exception]]
    #: Its savepoints, frames and plumbing.
    savepoints: SavepointStack
    #: What the app asked of autocommit, and the statements that need it.
    autocommit_statements: AutocommitStatements

    @property
    def watch(self) -> ConnectionWatch | None:
        """The check of writes made past this connection, if its database has one."""

    def begin_test(self, test: object) -> None:
        """Open the savepoint that brackets one test (:meth:`.SavepointStack.begin_test`).

        :param test: the test.
        """

    def end_test(self, check_constraints: bool = False) -> None:
        """Undo everything the test did (:meth:`.SavepointStack.end_test`).

        :param check_constraints: check the deferred constraints first.
        """

    def take_escape(self) -> Escape | None:
        """Return the escape of the test that just ended, if any, and forget it."""

    def end_class(self) -> None:
        """Roll back the class's data: a real ROLLBACK of the outer transaction."""

    def real_commit(self) -> None:
        """Really commit the connection's transaction (the driver's ``commit``)."""

    def close_for_real(self) -> None:
        """Close the connection (end of the run)."""


def arm(conn: PinnedConnection) -> ConnectionWatch:
    """Give a shared connection its watch (once), and return it.

    :param conn: a shared connection on a database that has the watch.
    """
    stack = conn.savepoints
    if stack.watch is None:
        stack.watch = ConnectionWatch()
    return stack.watch
