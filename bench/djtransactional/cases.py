"""Django's TestCase and TransactionTestCase on the bench's 30 tables, and their test database.

:func:`setup` configures Django (``djtransactional.settings``) for the
throwaway server bench/transactional.py started and creates Django's test
database on it, as ``manage.py test`` does (``create_test_db``: CREATE
DATABASE, then ``migrate --run-syncdb`` makes the 30 tables); :func:`teardown`
drops it. :func:`make_class` builds a class of N tests of the Flask side's
body: create a ``T00`` row, then a ``T01`` row pointing at it (autocommit:
each ``create`` commits, as the Flask test's ``commit()`` does).
"""

from __future__ import annotations

import os


def setup(host: str, port: int, user: str) -> str:
    """Configure Django for the server at ``host`` (a socket directory); create its test database.

    Returns the database name :func:`teardown` needs.
    """
    os.environ["BENCH_PG_HOST"] = host
    os.environ["BENCH_PG_PORT"] = str(port)
    os.environ["BENCH_PG_USER"] = user
    os.environ["DJANGO_SETTINGS_MODULE"] = "djtransactional.settings"
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
    return old_name


def teardown(old_name: str) -> None:
    """Drop Django's test database (closing the connection first); undo the test environment."""
    from django.db import connection
    from django.test.utils import teardown_test_environment

    connection.close()
    connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)
    teardown_test_environment()


def driver() -> str:
    """The driver Django's PostgreSQL backend uses (psycopg 3 when installed, else psycopg2)."""
    from django.db import connection

    return connection.Database.__name__


def make_class(base: type, n: int) -> type:
    """A subclass of ``base`` (``django.test.TestCase`` or ``TransactionTestCase``) with n tests.

    TransactionTestCase keeps its defaults (``available_apps = None``,
    ``reset_sequences = False``, ``serialized_rollback = False``): after each
    test, ``flush`` TRUNCATEs every table and closes the connection.
    """
    from .models import T00, T01

    def test(self: object) -> None:
        parent = T00.objects.create(name="parent")
        T01.objects.create(name="child", parent=parent)

    attrs: dict[str, object] = {f"test_{i:04d}": test for i in range(n)}
    attrs["__module__"] = __name__
    return type(f"BenchDjango{base.__name__}", (base,), attrs)


def flush_statements() -> list[str]:
    """The SQL one TransactionTestCase test runs after its body: Django's flush of the tables.

    Runs a one-test TransactionTestCase class and returns the statements it
    logged: the test's two INSERTs, then the flush (the bench checks that it
    TRUNCATEs all 30 tables). TransactionTestCase clears the connection's
    query log before each test, so the log is read whole, not as
    ``CaptureQueriesContext.captured_queries`` (a slice from the length it
    had before).
    """
    import unittest

    from django.db import connection
    from django.test import TransactionTestCase
    from django.test.utils import CaptureQueriesContext

    cls = make_class(TransactionTestCase, 1)
    result = unittest.TestResult()
    connection.queries_log.clear()
    with CaptureQueriesContext(connection):  # logs the queries (DEBUG is off)
        unittest.TestLoader().loadTestsFromTestCase(cls)(result)
    if not result.wasSuccessful():
        raise RuntimeError(f"the Django check test failed: {result.errors + result.failures}")
    return [q["sql"] for q in connection.queries_log]
