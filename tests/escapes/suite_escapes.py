"""Escapes from the test transaction, in pairs: each test checks nothing leaked, then tries one.

Every test's setUp checks, on the test connection and on a separate real
one, that no earlier test (of this class or another) left rows, locks,
prepared statements or settings behind; then the test does one thing a
determined app could do to the shared connection. Whatever the order (file
order, reversed, shuffled, split over ``--parallel`` workers), the test that
runs after a leak catches it. A test whose end must fail with an
IsolationError names it in ``expected_errors``: its post_teardown checks
that the error came (and hides it), so the suite passes only if it did. A
test whose end must also empty the tables it committed to is named in
``expected_warnings``: the warning that says so is captured and checked, so
the run's own output stays clean (any other output passes through).
tests/test_escapes.py runs this module in the project's suite and, in
subprocesses, reversed, shuffled and with ``--parallel 2``.
"""

from __future__ import annotations

import contextlib
import io
import sys
import typing as t

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase, FlaskDBTransactionTestCase, IsolationError
from flask_dbtestcase.cases.testdb import current_database_url
from tests.sampleapp import Item, Note, create_app, db
from tests.support import dsn, run_sql

LEAKS = "SELECT (SELECT count(*) FROM item) + (SELECT count(*) FROM note)"


def driver_connection(session: t.Any) -> t.Any:
    """The test's shared DBAPI connection, as the app could reach it."""
    return session.connection().connection.dbapi_connection


def driver_base(conn: t.Any) -> t.Any:
    """The driver's own connection class, past flask-dbtestcase's methods."""
    if conn.driver == "psycopg2":
        import psycopg2.extensions

        return psycopg2.extensions.connection
    import psycopg

    return psycopg.Connection


@contextlib.contextmanager
def escape_warning(who: str, expected: bool = True) -> t.Iterator[None]:
    """Capture what the block writes to stderr; with ``expected``, it must be the
    warning that ``who`` (a test's id, a class's name) got past the test
    transaction. Anything else it wrote is written on to stderr."""
    buffer = io.StringIO()
    warning = f"flask-dbtestcase: warning: {who} got past the test transaction;"
    found = False
    try:
        with contextlib.redirect_stderr(buffer):
            yield
    finally:
        lines = buffer.getvalue().splitlines(True)
        found = any(line.startswith(warning) for line in lines)
        rest = [line for line in lines if not (expected and line.startswith(warning))]
        sys.stderr.write("".join(rest))
    if expected and not found:
        raise AssertionError(f"{who} did not warn that it got past the test transaction")


class EscapeCase(FlaskDBTestCase):
    app_factory = create_app
    #: test method name -> a phrase of the IsolationError its end must raise.
    expected_errors: t.ClassVar[dict[str, str]] = {}
    #: The tests whose end must empty what they committed, and warn that it did.
    expected_warnings: t.ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def setUpTestData(cls):
        cls.item = Item(name="class")
        db.session.add(cls.item)
        db.session.commit()

    def setUp(self):
        self.assertNothingLeaked()

    def assertNothingLeaked(self, class_rows: list[str] | None = None):
        names = self.session.scalars(sa.select(Item.name).order_by(Item.name)).all()
        self.assertEqual(names, ["class"] if class_rows is None else class_rows, "class data")
        self.assertRowCount(Note, 0)
        state = self.session.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                " AND pid = pg_backend_pid()),"
                " (SELECT count(*) FROM pg_prepared_statements WHERE from_sql),"
                " (SELECT count(*) FROM pg_listening_channels()),"
                " current_setting('search_path'), to_regclass('pg_temp.made_here')"
            )
        ).one()
        self.assertEqual(tuple(state), (0, 0, 0, '"$user", public', None), "session state")
        self.assertEqual(run_sql(current_database_url(), LEAKS)[0][0], 0, "committed rows")

    def post_teardown(self):
        expected = self.expected_errors.get(self._testMethodName)
        warns = self._testMethodName in self.expected_warnings
        with escape_warning(self.id(), expected=warns):
            try:
                super().post_teardown()
            except IsolationError as exc:
                if expected is None or expected not in str(exc):
                    raise
                return
        if expected is not None:
            raise AssertionError(f"the end of {self.id()} did not raise {expected!r}")

    def write_rows(self):
        db.session.add(Note(item_id=self.session.scalar(sa.select(Item.id)), text="test"))
        db.session.flush()


class FailedBeforeTheServerTests(EscapeCase):
    """A statement that fails before it reaches the server keeps the savepoints (item 1)."""

    def then_the_session_works(self):
        db.session.rollback()
        db.session.add(Item(name="after"))
        db.session.commit()
        self.assertRowCount(Item, 2)

    def test_unadaptable_parameter(self):
        self.write_rows()
        with self.assertRaises(Exception):  # noqa: B017 - each driver has its own
            db.session.execute(sa.text("SELECT :x"), {"x": {"a": 1}})
        self.then_the_session_works()

    def test_syntax_error(self):
        db.session.commit()
        with self.assertRaises(sa.exc.ProgrammingError):
            db.session.execute(sa.text("SELCT 1"))
        self.then_the_session_works()


class FirstStatementFailsTests(EscapeCase):
    """The class's first SQL fails: the class's later tests still work (item 1)."""

    @classmethod
    def setUpTestData(cls):
        pass  # no class data: a test's statement is the class's first

    def setUp(self):
        pass  # checked after the failing statement

    def test_syntax_error_first(self):
        with self.assertRaises(sa.exc.ProgrammingError):
            db.session.execute(sa.text("SELCT 1"))
        db.session.rollback()
        self.assertNothingLeaked(class_rows=[])
        db.session.add(Item(name="works"))
        db.session.commit()

    def test_unadaptable_parameter_first(self):
        with self.assertRaises(Exception):  # noqa: B017 - each driver has its own
            db.session.execute(sa.text("SELECT :x"), {"x": {"a": 1}})
        db.session.rollback()
        self.assertNothingLeaked(class_rows=[])
        db.session.add(Item(name="works"))
        db.session.commit()


REFUSED = [
    "COMMIT",
    "END",
    "COMMIT AND CHAIN",
    "ROLLBACK",
    "ROLLBACK AND CHAIN",
    "ABORT",
    "RELEASE SAVEPOINT fdt_test",
]


def _refused(statement: str) -> t.Callable[[EscapeCase], None]:
    def test(self: EscapeCase) -> None:
        self.write_rows()
        with self.assertRaises(IsolationError) as caught:
            db.session.execute(sa.text(statement))
        self.assertIn(repr(statement), str(caught.exception))
        self.assertIn("db.session.commit()", str(caught.exception))
        self.assertRowCount(Note, 1)  # the session goes on: nothing was sent
        db.session.commit()

    return test


class RefusedStatementTests(EscapeCase):
    """Raw transaction control as a statement is refused before it is sent (items 2, 8)."""

    locals().update({f"test_{s.lower().replace(' ', '_')}": _refused(s) for s in REFUSED})

    def test_driver_reset(self):
        conn = driver_connection(db.session)
        self.write_rows()
        if conn.driver == "psycopg2":
            with self.assertRaises(IsolationError):
                conn.reset()
        else:
            self.assertFalse(hasattr(conn, "reset"), "psycopg 3 grew a reset(): refuse it")
        self.assertRowCount(Note, 1)


class EscapedTests(EscapeCase):
    """What cannot be refused is found at the test's end and recovered (item 2)."""

    expected_errors = {
        "test_commit_in_a_multi_statement_text": "ran 'COMMIT'",
        "test_commit_and_chain_in_a_multi_statement_text": "ran 'COMMIT AND CHAIN'",
        "test_rollback_in_a_multi_statement_text": "ran 'ROLLBACK'",
        "test_release_in_a_multi_statement_text": "ran 'RELEASE SAVEPOINT fdt_test'",
        "test_driver_commit": "used raw transaction control",
        "test_driver_rollback": "used raw transaction control",
    }
    expected_warnings = frozenset(expected_errors)

    def multi(self, statement: str):
        self.write_rows()
        db.session.execute(
            sa.text(f"INSERT INTO note (item_id, text) SELECT id, 'leak' FROM item; {statement}")
        )

    def test_commit_in_a_multi_statement_text(self):
        self.multi("COMMIT")

    def test_commit_and_chain_in_a_multi_statement_text(self):
        self.multi("COMMIT AND CHAIN")

    def test_rollback_in_a_multi_statement_text(self):
        self.multi("ROLLBACK")
        db.session.execute(sa.text("INSERT INTO item (name) VALUES ('after the rollback')"))

    def test_release_in_a_multi_statement_text(self):
        self.multi("RELEASE SAVEPOINT fdt_test")

    def test_driver_commit(self):
        self.write_rows()
        conn = driver_connection(db.session)
        driver_base(conn).commit(conn)

    def test_driver_rollback(self):
        self.write_rows()
        conn = driver_connection(db.session)
        driver_base(conn).rollback(conn)  # the class's data with it


class PlumbingErrorTests(EscapeCase):
    """A savepoint destroyed under the plumbing: an IsolationError, not PostgreSQL's (item 8)."""

    expected_warnings = frozenset({"test_savepoint_destroyed_mid_test"})

    def test_savepoint_destroyed_mid_test(self):
        self.write_rows()
        db.session.execute(sa.text("SELECT 1; RELEASE SAVEPOINT fdt_test"))
        with self.assertRaises(IsolationError) as caught:
            db.session.commit()  # its RELEASE rides on nothing: sent with the next statement
            db.session.execute(sa.text("SELECT 1"))
        self.assertIn("savepoints are gone", str(caught.exception))  # and the class is rebuilt

    def test_killed_backend_then_the_driver_connection(self):
        conn = driver_connection(db.session)
        with self.assertRaises(sa.exc.OperationalError):
            db.session.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))
        with self.assertRaises(IsolationError) as caught:
            conn.cursor().execute("SELECT 1")
        self.assertIn("pg_terminate_backend", str(caught.exception))
        db.session.rollback()


class SessionStateTests(EscapeCase):
    """Session state a test leaves is reset before the next test (item 3)."""

    def test_advisory_lock(self):
        db.session.execute(sa.text("SELECT pg_advisory_lock(12)"))

    def test_prepare(self):
        db.session.execute(sa.text("PREPARE mine AS SELECT 1"))

    def test_set_search_path(self):
        db.session.execute(sa.text("SET search_path TO pg_catalog"))
        db.session.execute(sa.text("SELECT set_config('search_path', 'pg_catalog', false)"))

    def test_temp_table(self):
        db.session.execute(sa.text("CREATE TEMP TABLE made_here (x int)"))

    def test_listen(self):
        db.session.execute(sa.text("LISTEN somewhere"))
        db.session.commit()


class AutocommitTests(EscapeCase):
    """Under AUTOCOMMIT a failed statement does not poison the next one (item 5)."""

    def use(self, conn: sa.Connection):
        conn.execute(sa.insert(Item).values(name="autocommitted"))
        with self.assertRaises(sa.exc.DBAPIError):
            conn.execute(sa.text("SELECT 1/0"))
        self.assertEqual(conn.execute(sa.text("SELECT count(*) FROM item")).scalar(), 2)

    def test_execution_options(self):
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            self.use(conn)

    def test_engine_option(self):
        engine = db.engine.execution_options(isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            self.use(conn)
        self.assertRowCount(Item, 2)


def unpinned_engine() -> sa.Engine:
    """An engine on the test database that makes its connections itself (``creator=``):
    flask-dbtestcase cannot pin it (an engine made from the URL is pinned)."""
    return sa.create_engine(
        current_database_url(), creator=raw_connection, poolclass=sa.pool.NullPool
    )


def raw_connection() -> t.Any:
    """A connection of the run's driver itself (psycopg2.connect or psycopg.connect)."""
    url = current_database_url()
    if url.get_driver_name() == "psycopg2":
        import psycopg2

        return psycopg2.connect(**dsn(url))
    import psycopg

    return psycopg.connect(**dsn(url))


class UnpinnedWriteTests(EscapeCase):
    """A write through a connection the framework did not pin: named at the test's end (item 7)."""

    expected_errors = {
        "test_app_engine": "really committed: INSERT into item",
        "test_raw_driver_connection": "really committed: DELETE from item, INSERT into item",
    }
    expected_warnings = frozenset(expected_errors)

    def test_app_engine(self):
        self.write_rows()
        engine = unpinned_engine()
        with engine.begin() as conn:
            conn.execute(sa.insert(Item).values(name="escaped"))
        engine.dispose()
        self.assertRowCount(Item, 2)  # READ COMMITTED: the test sees the committed row

    def test_second_app(self):
        """A second app built inside the test is on the test database: pinned too."""
        url = current_database_url().render_as_string(hide_password=False)
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_BINDS": {"audit": url}})
        with app.app_context():
            db.session.add(Item(name="second app"))
            db.session.commit()
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()
        self.assertRowCount(Item, 1, name="second app")  # on the test's connection
        self.assertEqual(run_sql(current_database_url(), LEAKS)[0][0], 0, "committed rows")

    def test_raw_driver_connection(self):
        self.write_rows()
        conn = raw_connection()
        try:
            with conn.cursor() as cur:
                cur.execute("INSERT INTO item (name) VALUES ('raw')")
                cur.execute("DELETE FROM item WHERE name = 'nothing'")
            conn.commit()
        finally:
            conn.close()

    def test_rolled_back_write_is_no_escape(self):
        self.write_rows()
        engine = unpinned_engine()
        with engine.connect() as conn:
            conn.execute(sa.insert(Item).values(name="rolled back"))
            conn.rollback()
        engine.dispose()

    def test_pinned_writes_are_not_logged(self):
        self.write_rows()
        self.session.execute(sa.text("UPDATE item SET name = 'renamed'"))
        self.session.execute(sa.text("DELETE FROM note"))
        self.session.execute(sa.text("TRUNCATE note"))
        self.session.commit()
        self.assertEqual(self.session.execute(sa.text(WATCH_LOG)).scalar(), 0)


#: The writes the watch logged (and nothing cleared yet).
WATCH_LOG = "SELECT count(*) FROM flask_dbtestcase.escapes"


class UncheckedWriteTests(EscapeCase):
    """A test that sends no statement is checked at its class's end (item 7).

    Its end sends nothing, so the write is found when the class ends: the
    class's clean-up fails with the IsolationError (checked here, in
    doClassCleanups), and the later classes find nothing left.
    """

    def setUp(self):
        # Nothing on the test connection: checked on a separate one only.
        self.assertEqual(run_sql(current_database_url(), LEAKS)[0][0], 0, "committed rows")

    def test_write_without_a_statement(self):
        engine = unpinned_engine()
        with engine.begin() as conn:
            conn.execute(sa.insert(Item).values(name="unchecked"))
        engine.dispose()
        run_sql(current_database_url(), "TRUNCATE note")  # the class holds no lock on it

    @classmethod
    def doClassCleanups(cls):
        try:
            with escape_warning(cls.__qualname__):
                super().doClassCleanups()
        except AssertionError:
            cls.tearDown_exceptions.append(sys.exc_info())
        found = [
            (kind, exc, tb)
            for kind, exc, tb in cls.tearDown_exceptions
            if isinstance(exc, IsolationError)
            and "test_write_without_a_statement" in str(exc)
            and "really committed: INSERT into item, TRUNCATE of note" in str(exc)
        ]
        cls.tearDown_exceptions[:] = [e for e in cls.tearDown_exceptions if e not in found]
        if not found:
            try:
                raise AssertionError(f"the end of {cls.__qualname__} did not name the escape")
            except AssertionError:
                cls.tearDown_exceptions.append(sys.exc_info())


class TransactionCommitsTests(FlaskDBTransactionTestCase):
    """Real commits of a FlaskDBTransactionTestCase are meant: no later test is blamed (item 7)."""

    app_factory = create_app

    def setUp(self):
        self.assertEqual(run_sql(current_database_url(), LEAKS)[0][0], 0, "committed rows")

    def test_commits(self):
        db.session.add(Item(name="committed"))
        db.session.commit()
        engine = unpinned_engine()
        with engine.begin() as conn:
            conn.execute(sa.insert(Item).values(name="own engine"))
        engine.dispose()
        self.assertGreater(run_sql(current_database_url(), WATCH_LOG)[0][0], 0)
