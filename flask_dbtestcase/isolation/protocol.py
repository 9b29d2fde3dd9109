"""The connection protocol: what the savepoint stack needs from the driver's connection.

The :class:`~.savepoints.SavepointStack` of the shared connection knows no
driver: it holds its connection as a :class:`DriverConnection`, and each
driver adapter's connection class (:mod:`.psycopg2_driver`,
:mod:`.psycopg_driver`) provides it. Both drivers report the transaction
status as libpq does (:class:`TransactionStatus`). What the stack reports
back to the test case about a test that got past it is an :class:`Escape`.
"""

from __future__ import annotations

import dataclasses
import enum
import typing as t

__all__ = ["DriverConnection", "Escape", "TransactionStatus"]


class TransactionStatus(enum.IntEnum):
    """libpq's transaction status (``PQtransactionStatus``), as both drivers report it."""

    IDLE = 0
    ACTIVE = 1
    INTRANS = 2
    INERROR = 3
    UNKNOWN = 4


class DriverConnection(t.Protocol):
    """What the savepoint stack needs from its connection (a driver adapter provides it)."""

    @property
    def closed(self) -> int:
        """Nonzero once the connection is closed or lost."""

    @property
    def transaction_status(self) -> TransactionStatus:
        """The server's view of the transaction, as libpq reports it."""

    def send_plumbing(self, statements: t.Sequence[str]) -> None:
        """Send ``statements`` now, in one round trip, past the pinned cursor.

        :param statements: SQL statements, run in order.
        """

    def real_rollback(self) -> None:
        """Really roll back the connection's transaction (the driver's ``rollback``)."""

    def test_began(self) -> None:
        """Note what :meth:`test_rolled_back` resets."""

    def test_rolled_back(self) -> None:
        """Reset the session state the driver keeps past ``ROLLBACK TO``."""


@dataclasses.dataclass
class Escape:
    """A test that got past the savepoints: what the test case must recover from.

    :param message: the IsolationError's message.
    :param reported: the test already got it (raised by a statement).
    """

    message: str
    reported: bool = False
