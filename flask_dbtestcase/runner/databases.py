"""The run's databases: where the test database comes from (SPEC section 2),
its per-worker clones, and undoing all of it at the end.

``DBTestRunner.setup_databases``/``teardown_databases`` call these, as
Django's ``DiscoverRunner`` calls ``django.test.utils.setup_databases``. What
they make is handed to the test classes as a
:class:`~flask_dbtestcase.state.RunDatabases` in the process state, and to
the processes the tests start through :func:`~flask_dbtestcase.settings.export_database_url`.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading
import time
import typing as t
from urllib.parse import unquote

from ..settings import DATABASE_URL_ENV, THROWAWAY_DATABASE, export_database_url
from ..state import STATE, RunDatabases

if t.TYPE_CHECKING:  # the database modules are imported when a run needs them
    from ..postgres.background import Background
    from ..postgres.server import ThrowawayServer

__all__ = [
    "DatabaseState",
    "EarlyServer",
    "Log",
    "readable_url",
    "run_cancel_targets",
    "server_stop",
    "setup_databases",
    "start_server_early",
    "teardown_databases",
]

#: Prints a message when the verbosity is at least the level given.
Log = t.Callable[[str, int], None]


@dataclasses.dataclass
class DatabaseState:
    """Record what ``setup_databases`` did, so ``teardown_databases`` can undo it."""

    #: "given" | "server" | "throwaway" | None (no tests, nothing set up).
    mode: str | None = None
    #: The test database URL, with its password.
    url: str | None = None
    display_url: str | None = None
    server: ThrowawayServer | None = None
    #: We created the test database (drop it unless keepdb).
    created: bool = False
    #: The per-worker clones' URLs.
    clones: list[str] = dataclasses.field(default_factory=list)
    #: The databases handed over before this run (a run inside a run's test).
    previous: RunDatabases | None = dataclasses.field(default_factory=lambda: STATE.databases)
    #: What child processes were handed before this run (the environment's).
    previous_export: str | None = dataclasses.field(
        default_factory=lambda: STATE.current_settings().database_url
    )
    #: Whether teardown hands the previous databases back.
    restore: bool = True


def readable_url(rendered: str) -> str:
    """Return a URL as a person reads it: ``?host=/dev/shm/...``, not ``%2Fdev%2Fshm``.

    For messages only (the password already hidden): the result may not parse.

    :param rendered: the URL, as ``render_url`` renders it.
    """
    return unquote(rendered)


def server_stop(state: DatabaseState) -> tuple[str, str] | None:
    """Return why the run's throwaway server stopped, and its socket directory,
    if something outside the run stopped it; ``None`` while it runs.

    :param state: what ``setup_databases`` did.
    """
    if state.server is None:
        return None
    reason = state.server.stop_reason()
    return None if reason is None else (reason, state.server.socket_dir)


def run_cancel_targets() -> list[str]:
    """The run's databases whose queries Ctrl-C cancels (none before set-up)."""
    return STATE.databases.cancel_targets() if STATE.databases is not None else []


#: What the early start hands over: the server (None if it failed), how long
#: it took to start, and the error of creating its test database.
_Started = tuple["ThrowawayServer", float, "BaseException | None"]


@dataclasses.dataclass
class EarlyServer:
    """A throwaway server and its test database, started while the tests load.

    :param job: the thread starting them.
    """

    job: Background[_Started]
    taken: bool = False

    def take(self) -> _Started:
        """Wait for the start; return what it made, or raise why the server did not start."""
        self.taken = True
        return self.job.result()

    def discard(self) -> None:
        """End the early start: stop the server unless a run took it; let the thread end."""
        try:
            if not self.taken:
                self.taken = True
                try:
                    server, _, _ = self.job.result()
                except Exception:  # it did not start: nothing to stop
                    return
                server.stop()
        finally:
            self.job.release()


def _uses_throwaway_server(database_url: str | None) -> bool:
    """Tell whether the run will start a throwaway server (no database given)."""
    settings = STATE.current_settings()
    given = STATE.databases.url if STATE.databases is not None else None
    return not (given or settings.database_url or database_url or settings.test_database_url)


def start_server_early(
    database_url: str | None = None, keepdb: bool = False, project: str | None = None
) -> EarlyServer | None:
    """Start the run's throwaway server and its test database in the background.

    They are built while the tests load (the test modules import the app,
    Flask and SQLAlchemy, a few hundred ms) and handed to :func:`setup_databases`.
    Returns None when the run needs no throwaway server.

    :param database_url: an existing server (as for :func:`setup_databases`).
    :param keepdb: reuse the kept test database and data directory.
    :param project: keys the kept data directory.
    """
    if not _uses_throwaway_server(database_url):
        return None
    # The server layer imports no SQLAlchemy: the thread starts the server
    # while this one imports the database helpers (SQLAlchemy, ~100 ms).
    from ..postgres.background import Background
    from ..postgres.server import ThrowawayServer

    imported = threading.Event()
    config = STATE.current_settings().server_config()

    def start() -> _Started:
        started = time.perf_counter()
        server = ThrowawayServer.start(config, keepdb=keepdb, project=project or os.getcwd())
        elapsed = time.perf_counter() - started
        # Imported by the caller's thread, not by this one: importing in two
        # threads at once can deadlock on a circular import.
        imported.wait()
        try:
            from ..databases import creation, drivers, urls

            test_url = urls.make_url(server.url(THROWAWAY_DATABASE, drivers.current_driver().name))
            creation.create_test_database(
                test_url, keepdb=keepdb, interactive=False, autoclobber=True
            )
        except BaseException as exc:  # raised by setup_databases, which stops the server
            return server, elapsed, exc
        return server, elapsed, None

    early = EarlyServer(Background(start, "flask-dbtestcase server start"))
    try:
        from ..databases import creation, drivers, urls  # noqa: F401  (for the thread, see above)
    except BaseException:
        imported.set()  # before discard(), which waits for the thread
        early.discard()
        raise
    imported.set()
    return early


def setup_databases(
    state: DatabaseState,
    log: Log,
    database_url: str | None = None,
    keepdb: bool = False,
    interactive: bool = True,
    parallel: int = 0,
    project: str | None = None,
    early: EarlyServer | None = None,
) -> DatabaseState:
    """Make the test database (and ``parallel`` clones) exist and hand them over.

    On any failure, undo what was done, then raise.

    :param state: filled in with what was done.
    :param log: prints the progress messages.
    :param database_url: an existing server (default: ``TEST_DATABASE_URL``).
    :param keepdb: reuse the test database, and keep it at the end.
    :param interactive: ask before replacing an existing test database.
    :param parallel: how many worker clones to make (none below 2).
    :param project: keys the throwaway server's kept data directory with
        ``keepdb`` (default: the current directory).
    :param early: the server :func:`start_server_early` started, used when
        the run needs a throwaway server.
    """
    try:
        _setup_main_database(state, log, database_url, keepdb, interactive, project, early)
        if parallel > 1:
            _setup_clones(state, log, parallel)
        assert state.url is not None
        STATE.databases = RunDatabases(state.url, tuple(state.clones))
        export_database_url(state.url)
    except BaseException:
        teardown_databases(state, log, keepdb=keepdb, quiet=True)
        raise
    return state


def _setup_main_database(
    state: DatabaseState,
    log: Log,
    database_url: str | None,
    keepdb: bool,
    interactive: bool,
    project: str | None,
    early: EarlyServer | None = None,
) -> None:
    # Imported here, not at the top: they load sqlalchemy and psycopg2, and
    # importing the runner must stay fast (--help).
    from ..databases import creation, drivers, safety, urls

    given = state.previous.url if state.previous is not None else None
    settings = STATE.current_settings()
    given = given or settings.database_url
    if given:
        # Checked up front: one clear error instead of one per test class.
        safety.check_test_database(given, "run tests")
        state.mode = "given"
        state.url = given
        log(f"Using the test database from ${DATABASE_URL_ENV}.", 2)
        return
    url = database_url or settings.test_database_url
    if url:
        base = urls.make_url(url)
        test_url = base.set(database=urls.test_database_name(base.database or "postgres"))
        log(f"Creating test database {readable_url(urls.render_url(test_url))} ...", 2)
        state.mode = "server"
        creation.create_test_database(
            test_url, keepdb=keepdb, interactive=interactive, autoclobber=not interactive
        )
    else:
        # Imported only by runs that start a server: it loads testing.postgresql.
        from ..postgres.server import ThrowawayServer

        log("Starting a throwaway PostgreSQL server ...", 2)
        state.mode = "throwaway"
        created: BaseException | None = None
        if early is not None and not early.taken:
            state.server, elapsed, created = early.take()
        else:
            early = None
            started = time.perf_counter()
            config = settings.server_config()
            state.server = ThrowawayServer.start(
                config, keepdb=keepdb, project=project or os.getcwd()
            )
            elapsed = time.perf_counter() - started
        log(f"Throwaway server started in {elapsed:.3f}s.", 2)
        if state.server.kept is not None:
            log(f"Keeping the server's data in {state.server.kept.path}", 2)
        elif keepdb:
            log(
                "Another --keepdb run of this project is using its kept server data: "
                "using a fresh throwaway server instead.",
                2,
            )
        test_url = urls.make_url(
            state.server.url(THROWAWAY_DATABASE, drivers.current_driver().name)
        )
        if created is not None:
            raise created
        if early is None:  # the early start created it
            creation.create_test_database(
                test_url, keepdb=keepdb, interactive=False, autoclobber=True
            )
    state.created = True
    state.url = test_url.render_as_string(hide_password=False)
    state.display_url = readable_url(urls.render_url(test_url))
    log(f"Test database: {state.display_url}", 2)


def _setup_clones(state: DatabaseState, log: Log, parallel: int) -> None:
    # Imported here, not at the top: they load flask, sqlalchemy and psycopg2,
    # and importing the runner must stay fast (--help).
    from ..cases.testapp import prebuild_schema
    from ..databases import creation, urls

    assert state.url is not None
    try:
        log(f"{prebuild_schema(state.url).capitalize()}.", 2)
    except Exception as exc:  # the workers build it then, and report any error
        log(f"Could not build the schema before cloning ({exc}); each worker builds its own.", 2)
    for number in range(1, parallel + 1):
        log(f"Cloning test database for worker {number} ...", 2)
        clone = creation.clone_test_database(urls.make_url(state.url), str(number))
        state.clones.append(clone.render_as_string(hide_password=False))


def teardown_databases(
    state: DatabaseState, log: Log, keepdb: bool = False, quiet: bool = False
) -> None:
    """Undo ``setup_databases``: drop what it created (unless ``keepdb``),
    stop the throwaway server, hand the previous databases back.

    Every step is attempted; the first error is raised at the end (unless
    ``quiet``), the others are warnings.

    :param state: what ``setup_databases`` did.
    :param log: prints the progress messages and the warnings.
    :param keepdb: keep the test database (and the clones).
    :param quiet: raise nothing and warn of nothing (undoing a failed set-up).
    """
    # A second Ctrl-C must not abandon the clean-up half way.
    try:
        previous_sigint = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # pragma: no cover - not the main thread
        previous_sigint = None
    errors: list[Exception] = []

    def attempt(what: str, func: t.Callable[..., object], *args: t.Any) -> None:
        try:
            func(*args)
        except Exception as exc:  # keep cleaning up; the first error is raised at the end
            if errors and not quiet:
                log(f"warning: could not {what}: {exc}", 0)
            errors.append(exc)

    try:
        appcache = sys.modules.get(f"{__package__.rpartition('.')[0]}.cases.appcache")
        if appcache is not None:  # the apps built on the test databases
            attempt("close the test apps' engines", appcache.forget_apps)
        engines = sys.modules.get(f"{__package__.rpartition('.')[0]}.isolation.engines")
        if engines is not None:  # the test classes' shared connections, before any DROP
            attempt("close the test connections", engines.close_pinned_connections)
        # A throwaway server stopped from outside took its databases with it.
        stopped = state.server is not None and state.server.stop_reason() is not None
        if state.mode is not None and not keepdb and not stopped:
            _drop_databases(state, log, attempt)
        if state.mode in ("server", "throwaway") and keepdb and not stopped:
            attempt("drop the test databases a test committed to", _drop_escaped, state, log)
        if state.server is not None:
            attempt("stop the throwaway server", state.server.stop)
            state.server = None
    finally:
        if state.restore:
            STATE.databases = state.previous
            export_database_url(state.previous_export)
        if previous_sigint is not None:
            signal.signal(signal.SIGINT, previous_sigint)
    if errors and not quiet:
        raise errors[0]


def _drop_escaped(state: DatabaseState, log: Log) -> None:
    """--keepdb keeps no database a test really committed to (see databases.escapes)."""
    from ..databases import escapes

    urls = [u for u in (state.url, *state.clones) if u] + list(STATE.created_databases)
    dropped = escapes.drop_escaped_databases(urls)
    if dropped:
        log(f"warning: not keeping {', '.join(dropped)}: a test committed to it.", 0)


def _drop_databases(state: DatabaseState, log: Log, attempt: t.Callable[..., None]) -> None:
    # Imported here, not at the top: they load sqlalchemy and psycopg2, and
    # importing the runner must stay fast (--help).
    from ..databases import creation, urls

    # The run's throwaway server is stopped next and its data removed:
    # dropping its databases (the clones, the binds') would only cost time.
    throwaway = state.server is not None and state.server.kept is None
    if state.server is not None and throwaway:
        creation.forget_databases_on(state.server.socket_dir)
    attempt("drop the databases created for binds", creation.destroy_created_databases)
    if throwaway:
        return
    for clone in state.clones:
        attempt(
            f"drop the worker database {urls.make_url(clone).database}",
            creation.destroy_test_database,
            urls.make_url(clone),
        )
    if state.mode in ("server", "throwaway") and state.created and state.server is None:
        log(f"Destroying test database {state.display_url or ''} ...", 2)
        assert state.url is not None
        attempt("drop the test database", creation.destroy_test_database, urls.make_url(state.url))
