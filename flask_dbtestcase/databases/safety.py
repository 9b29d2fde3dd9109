"""The safety check: destructive work only ever runs on a test database.

A test database is one on a live throwaway server this package started
(proven to be that server: :mod:`.maintenance`), or one whose name starts
with ``test_`` (Django's rule). A URL that is neither is refused before any
connection is made, so it touches nothing.
"""

from __future__ import annotations

from sqlalchemy.engine import URL

from ..errors import UnsafeDatabaseError
from ..postgres.identity import is_throwaway_url
from .maintenance import prove_throwaway
from .urls import describe_location, test_database_name

__all__ = ["check_test_database", "is_test_database"]


def is_test_database(url: URL) -> bool:
    """Tell whether destructive work on ``url`` is allowed.

    :param url: a database URL.
    """
    return is_throwaway_url(url) or (url.database or "").startswith("test_")


def check_test_database(url: URL, action: str, prove: bool = True) -> None:
    """Raise :class:`UnsafeDatabaseError` unless ``url`` is a test database.

    A throwaway server's is proven to be that server first (once per
    process and server: :func:`~.maintenance.prove_throwaway`).

    :param url: a database URL.
    :param action: what was about to happen, for the message ("drop the database").
    :param prove: prove a throwaway server here; ``False`` when the caller's
        next step is a maintenance connection, which proves it anyway.
    """
    if is_throwaway_url(url):
        if prove:
            prove_throwaway(url)
    elif not is_test_database(url):
        raise UnsafeDatabaseError(
            f"Refusing to {action} on database {url.database!r} at"
            f" {describe_location(url)}: it is not a test database. flask-dbtestcase only"
            " creates, changes or drops databases whose name starts with"
            " 'test_' or that live on the throwaway server it started itself."
            " Point the tests at a test database (for example"
            f" {test_database_name(url.database or 'app')!r}) instead."
        )
