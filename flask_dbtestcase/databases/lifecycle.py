"""The process's test databases: the one door that opens and closes them.

As Django's ``setup_databases``/``teardown_databases`` serve its runner and
pytest-django alike, :func:`open_test_databases` serves the runner, the
pytest plugin and the first test class of a run that has neither, and
:meth:`TestDatabases.close` undoes all of it. Where the test database comes
from (SPEC section 2), first match wins:

1. ``given``: a test database handed over (a ``--parallel``/xdist worker's
   copy, ``FLASK_DBTESTCASE_DATABASE_URL`` in a process the tests started,
   an enclosing run in the same process): used as it is;
2. ``existing_server`` (``--database-url``, ``TEST_DATABASE_URL``):
   ``test_<name>`` is created there, Django's way;
3. otherwise a throwaway server is started, with a database ``test_db``.

Opening also installs what a run needs around its databases (SIGTERM stops
the run as Ctrl-C does, and either cancels a test blocked in a query) and
hands the database to the processes the tests start
(:data:`~flask_dbtestcase.variables.DATABASE_URL_ENV`); closing gives all of
it back. What the layers above keep on the databases (apps, shared
connections) is closed by the closers they register (:meth:`TestDatabases.add_closer`).
"""

from __future__ import annotations

import os
import signal
import time
import typing as t
from urllib.parse import unquote

from sqlalchemy.engine import URL

from ..variables import DATABASE_URL_ENV
from . import creation
from .catalog import leftovers_at_end
from .config import THROWAWAY_DATABASE, DatabasesConfig
from .earlystart import EarlyServer, start_throwaway
from .handover import Handover
from .safety import check_test_database
from .urls import parse_test_url, render_url, same_database, test_database_name
from .watch import Marks, drop_escaped_databases

if t.TYPE_CHECKING:  # imported where a server is started (earlystart): it loads pg8000
    from ..postgres.server import ThrowawayServer

__all__ = ["Log", "TestDatabases", "open_test_databases", "readable_url"]

#: Prints a message when the verbosity is at least the level given (0: always).
Log = t.Callable[[str, int], None]


def _quiet(message: str, level: int) -> None:
    """The log of a run that prints nothing."""


def readable_url(url: URL) -> str:
    """Return a URL as a person reads it: ``?host=/dev/shm/...``, not ``%2Fdev%2Fshm``.

    For messages only (the password hidden): the result may not parse.

    :param url: a database URL.
    """
    return unquote(render_url(url))


class TestDatabases:
    """The process's test databases, from :func:`open_test_databases` to :meth:`close`.

    :param config: what decided them.
    :param url: this process's test database.
    :param mode: ``"given"``, ``"server"`` (an existing server) or ``"throwaway"``.
    :param server: the throwaway server this process started, if any.
    :param keepdb: keep the test database at the end.
    """

    __test__ = False  # not a test, whatever pytest thinks of the name

    def __init__(
        self,
        config: DatabasesConfig,
        url: URL,
        mode: str,
        server: ThrowawayServer | None = None,
        keepdb: bool = False,
        worker_id: int = 0,
    ) -> None:
        self.config = config
        self.url = url
        self.mode = mode
        self.server = server
        self.keepdb = keepdb
        #: The number of this ``--parallel``/xdist worker (0: none).
        self.worker_id = worker_id
        #: The per-worker copies of the test database (``--parallel``).
        self.clones: list[URL] = []
        #: What this run built or found in its test databases (see :mod:`.watch`).
        self.marks: Marks = set()
        self._created: list[URL] = []
        self._closers: list[t.Callable[[], None]] = []
        self._handover = Handover(self.cancel_targets)
        self.closed = False

    # -- what the layers above use -------------------------------------------

    @property
    def display_url(self) -> str:
        """The test database's URL as a person reads it (the password hidden)."""
        return readable_url(self.url)

    def create_database(self, url: URL) -> None:
        """Create another test database (a bind's) unless it exists; it is dropped at the end.

        :param url: its URL, on the test database's server.
        """
        if not creation.database_exists(url):
            created = creation.create_test_database(url, self.config.timeouts, interactive=False)
            self._note_created(url, created)

    def clone(self, suffix: str) -> URL:
        """Copy the test database to ``<name>_<suffix>``; it is dropped at the end.

        :param suffix: what the copy's name adds (a worker's number or name).
        """
        url = creation.clone_test_database(self.url, suffix, self.config.timeouts)
        self._note_created(url, True)
        return url

    def add_closer(self, closer: t.Callable[[], None]) -> None:
        """Have ``closer`` run at :meth:`close`, before the databases are dropped (last in, first).

        :param closer: closes what the caller keeps on the databases (apps,
            shared connections).
        """
        if closer not in self._closers:
            self._closers.append(closer)

    def cancel_targets(self) -> list[URL]:
        """The databases whose queries an interrupt cancels (clones are found by name)."""
        return [] if self.closed else [self.url]

    def for_worker(self, worker_id: int) -> TestDatabases:
        """Return the databases as a forked ``--parallel`` worker sees them: its clone.

        :param worker_id: the worker's number, from 1.
        """
        clones = self.clones or [self.url]
        worker = TestDatabases(self.config, clones[(worker_id - 1) % len(clones)], "given")
        worker.worker_id = worker_id
        worker.marks = set(self.marks)
        return worker

    def server_stop(self) -> tuple[str, str] | None:
        """Return why the throwaway server stopped, and its socket directory,
        if something outside the run stopped it; ``None`` while it runs."""
        if self.server is None:
            return None
        reason = self.server.stop_reason()
        return None if reason is None else (reason, self.server.socket_dir)

    # -- around the databases ------------------------------------------------

    def hand_over(self, signals: bool = True) -> None:
        """Hand the test database to child processes; with ``signals``, make SIGTERM
        stop the run as Ctrl-C does, and either cancel a test blocked in a query.

        :param signals: install the signal handling too (not in a ``--parallel``
            worker, which its parent stops).
        """
        self._handover.install(self.url, signals)

    # -- the end -----------------------------------------------------------------

    def _note_created(self, url: URL, created: bool) -> None:
        if created and not any(same_database(url, known) for known in self._created):
            self._created.append(url)

    def close(self, log: Log = _quiet, quiet: bool = False) -> None:
        """Undo :func:`open_test_databases`: run the closers, drop what was created
        (unless ``keepdb``), stop the throwaway server, give the hand-over back.

        Every step is attempted; the first error is raised at the end (unless
        ``quiet``), the others are warnings. Safe to call twice.

        :param log: prints the progress messages and the warnings.
        :param quiet: raise nothing and warn of nothing (undoing a failed set-up).
        """
        if self.closed:
            return
        self.closed = True
        try:  # a second Ctrl-C must not abandon the clean-up half way
            previous_sigint = signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:  # not the main thread
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
            while self._closers:
                attempt("close what the tests kept open", self._closers.pop())
            # A throwaway server stopped from outside took its databases with it.
            stopped = self.server is not None and self.server.stop_reason() is not None
            if not stopped:
                attempt("remove what the tests left behind", self._remove_leftovers, log)
                if self.keepdb:
                    attempt("drop the test databases a test committed to", self._drop_escaped, log)
                else:
                    self._drop_created(log, attempt)
            if self.server is not None:
                attempt("stop the throwaway server", self.server.stop)
        finally:
            self._handover.uninstall()
            if previous_sigint is not None:
                signal.signal(signal.SIGINT, previous_sigint)
        if errors and not quiet:
            raise errors[0]

    def _remove_leftovers(self, log: Log) -> None:
        """Name and remove what the tests left that no class's end did (see :mod:`.catalog`)."""
        for message in leftovers_at_end([self.url, *self.clones, *self._created], self.marks):
            log(f"warning: {message}", 0)

    def _drop_created(self, log: Log, attempt: t.Callable[..., None]) -> None:
        # The throwaway server is stopped next and its data removed: dropping
        # its databases would only cost time.
        if self.server is not None and self.server.kept is None:
            return
        for url in reversed(self._created):
            if same_database(url, self.url):
                log(f"Destroying test database {self.display_url} ...", 2)
            attempt(f"drop the database {url.database}", creation.destroy_test_database, url)

    def _drop_escaped(self, log: Log) -> None:
        """--keepdb keeps no database a test really committed to (see :mod:`.escapes`)."""
        if self.mode == "given":
            return
        dropped = drop_escaped_databases([self.url, *self.clones, *self._created])
        if dropped:
            names = ", ".join(dict.fromkeys(dropped))
            log(f"warning: not keeping {names}: a test committed to it.", 0)


def open_test_databases(
    config: DatabasesConfig,
    *,
    log: Log = _quiet,
    given: URL | None = None,
    database_url: str | None = None,
    keepdb: bool = False,
    interactive: bool = True,
    parallel: int = 0,
    project: str | None = None,
    early: EarlyServer | None = None,
    prebuild: t.Callable[[TestDatabases], str] | None = None,
    worker_id: int = 0,
    hand_over: bool = True,
) -> TestDatabases:
    """Make the run's test database (and ``parallel`` copies) exist, and hand them over.

    On any failure, undo what was done, then raise.

    :param config: the run's databases configuration.
    :param log: prints the progress messages.
    :param given: a test database handed over (an enclosing run's, a worker's copy).
    :param database_url: an existing server (``--database-url``; default: the config's).
    :param keepdb: reuse the test database, and keep it at the end.
    :param interactive: ask before replacing an existing test database.
    :param parallel: how many worker copies to make (none below 2).
    :param project: keys the throwaway server's kept data with ``keepdb``
        (default: the current directory).
    :param early: the server :func:`start_early` started, used when the run
        needs a throwaway server.
    :param prebuild: builds the schema in the test database before it is
        copied for the workers; returns what it did, for the log.
    :param worker_id: this process's worker number (a database handed over to an xdist worker).
    :param hand_over: hand the database to child processes and install the signal handling.
    """
    databases: TestDatabases | None = None
    try:
        databases = _open_main(
            config, log, given, database_url, keepdb, interactive, project or os.getcwd(), early
        )
        databases.worker_id = worker_id
        if parallel > 1:
            _make_clones(databases, log, parallel, prebuild)
        if hand_over:
            databases.hand_over()
    except BaseException:
        if databases is not None:
            databases.close(log, quiet=True)
        elif early is not None:
            early.discard()
        raise
    return databases


def _open_main(
    config: DatabasesConfig,
    log: Log,
    given: URL | None,
    database_url: str | None,
    keepdb: bool,
    interactive: bool,
    project: str,
    early: EarlyServer | None,
) -> TestDatabases:
    if given is None and config.given_url:
        given = parse_test_url(config.given_url, config.driver)
    if given is not None:
        # Checked up front: one clear error instead of one per test class.
        check_test_database(given, "run tests")
        log(f"Using the test database from ${DATABASE_URL_ENV}.", 2)
        if early is not None:
            early.discard()
        return TestDatabases(config, given, "given", keepdb=keepdb)
    existing = database_url or config.existing_server
    if existing:
        if early is not None:
            early.discard()
        base = parse_test_url(existing, config.driver)
        url = base.set(database=test_database_name(base.database or "postgres"))
        log(f"Creating test database {readable_url(url)} ...", 2)
        databases = TestDatabases(config, url, "server", keepdb=keepdb)
        created = creation.create_test_database(
            url,
            config.timeouts,
            keepdb=keepdb,
            interactive=interactive,
            autoclobber=not interactive,
        )
        databases._note_created(url, created)
        log(f"Test database: {databases.display_url}", 2)
        return databases
    log("Starting a throwaway PostgreSQL server ...", 2)
    if early is not None and not early.taken:
        server, elapsed, error = early.take()
        url = parse_test_url(server.url(THROWAWAY_DATABASE, config.driver), config.driver)
        created = error is None
    else:
        started = time.perf_counter()
        server, url, created = start_throwaway(config, keepdb, project)
        elapsed, error = time.perf_counter() - started, None
    databases = TestDatabases(config, url, "throwaway", server=server, keepdb=keepdb)
    log(f"Throwaway server started in {elapsed:.3f}s.", 2)
    if server.kept is not None:
        log(f"Keeping the server's data in {server.kept.path}", 2)
    elif keepdb:
        log(
            "Another --keepdb run of this project is using its kept server data: "
            "using a fresh throwaway server instead.",
            2,
        )
    if error is not None:
        databases.close(quiet=True)
        raise error
    databases._note_created(url, created and not keepdb)
    log(f"Test database: {databases.display_url}", 2)
    return databases


def _make_clones(
    databases: TestDatabases,
    log: Log,
    parallel: int,
    prebuild: t.Callable[[TestDatabases], str] | None,
) -> None:
    if prebuild is not None and databases.mode != "given":
        try:
            log(f"{prebuild(databases).capitalize()}.", 2)
        except Exception as exc:  # the workers build it then, and report any error
            log(
                f"Could not build the schema before cloning ({exc}); each worker builds its own.", 2
            )
    for number in range(1, parallel + 1):
        if databases.mode == "given":
            # Copying needs the template idle: a database handed over is in use
            # by whoever handed it over. Each worker builds its schema instead.
            url = databases.url.set(database=f"{databases.url.database}_{number}")
            log(f"Creating an empty test database for worker {number} ...", 2)
            created = creation.create_test_database(
                url, databases.config.timeouts, interactive=False, autoclobber=True
            )
            databases._note_created(url, created)
            databases.clones.append(url)
        else:
            log(f"Cloning test database for worker {number} ...", 2)
            databases.clones.append(databases.clone(str(number)))
