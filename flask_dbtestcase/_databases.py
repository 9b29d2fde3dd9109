"""The run's databases: where the test database comes from (SPEC section 2),
its per-worker clones, and undoing all of it at the end.

``DBTestRunner.setup_databases``/``teardown_databases`` call these, as
Django's ``DiscoverRunner`` calls ``django.test.utils.setup_databases``.
"""

from __future__ import annotations

import os
import signal
import sys
import time

#: The variable through which the runner hands the test database to the tests.
DATABASE_URL_ENV = "FLASK_DBTESTCASE_DATABASE_URL"
#: Where ``--database-url`` is read from when it is not given.
TEST_DATABASE_URL_ENV = "TEST_DATABASE_URL"
#: The database created on the throwaway server.
THROWAWAY_DATABASE = "test_db"

_MISSING = object()


def _url_to_string(url):
    if isinstance(url, str):
        return url
    render = getattr(url, "render_as_string", None)
    return render(hide_password=False) if render else str(url)


class DatabaseState:
    """What ``setup_databases`` did, so ``teardown_databases`` can undo it."""

    def __init__(self):
        self.mode = None  # "given" | "server" | "throwaway" | None (no tests)
        self.url = None  # the test database URL (string, with password)
        self.display_url = None
        self.server = None
        self.created = False  # we created the test database (drop it unless keepdb)
        self.clones = []  # URL strings of the per-worker clones
        self.previous_env = os.environ.get(DATABASE_URL_ENV, _MISSING)
        self.restore_env = True


def setup_databases(state, log, database_url=None, keepdb=False, interactive=True, parallel=0,
                    project=None):
    """Make the test database (and ``parallel`` clones) exist and publish it
    in the environment; on any failure undo what was done, then raise.

    ``project`` (default: the current directory) keys the throwaway server's
    kept data directory with ``keepdb``.
    """
    try:
        _setup_main_database(state, log, database_url, keepdb, interactive, project)
        os.environ[DATABASE_URL_ENV] = state.url
        if parallel > 1:
            _setup_clones(state, log, parallel)
    except BaseException:
        teardown_databases(state, log, keepdb=keepdb, quiet=True)
        raise
    return state


def _setup_main_database(state, log, database_url, keepdb, interactive, project):
    from . import database
    if state.previous_env is not _MISSING:
        # Checked up front: one clear error instead of one per test class.
        database.check_test_database(state.previous_env, "run tests")
        state.mode = "given"
        state.url = state.previous_env
        log("Using the test database from $%s." % DATABASE_URL_ENV, 2)
        return
    url = database_url or os.environ.get(TEST_DATABASE_URL_ENV)
    if url:
        base = database.make_url(url)
        name = database.test_database_name(base.database or "postgres")
        test_url = base.set(database=name)
        log("Creating test database %s ..." % database.render_url(test_url), 2)
        state.mode = "server"
        created = database.create_test_database(
            test_url, keepdb=keepdb, interactive=interactive, autoclobber=not interactive)
    else:
        from .server import ThrowawayServer
        log("Starting a throwaway PostgreSQL server ...", 2)
        state.mode = "throwaway"
        server_started = time.perf_counter()
        state.server = ThrowawayServer.start(keepdb=keepdb, project=project or os.getcwd())
        log("Throwaway server started in %.3fs." % (time.perf_counter() - server_started), 2)
        if state.server.kept is not None:
            log("Keeping the server's data in %s" % state.server.kept.path, 2)
        elif keepdb:
            log("Another --keepdb run of this project is using its kept server data: "
                "using a fresh throwaway server instead.", 2)
        test_url = database.make_url(state.server.url(THROWAWAY_DATABASE))
        created = database.create_test_database(test_url, keepdb=keepdb, interactive=False,
                                                autoclobber=True)
    state.created = True
    test_url = created if created is not None else test_url
    state.url = _url_to_string(test_url)
    state.display_url = database.render_url(test_url)
    log("Test database: %s" % state.display_url, 2)


def _setup_clones(state, log, parallel):
    from . import database
    try:
        from ._appsetup import prebuild_schema
        log(prebuild_schema(state.url).capitalize() + ".", 2)
    except Exception as exc:  # the workers build it then, and report any error
        log("Could not build the schema before cloning (%s); each worker builds its own." % exc, 2)
    for number in range(1, parallel + 1):
        log("Cloning test database for worker %d ..." % number, 2)
        clone = database.clone_test_database(database.make_url(state.url), str(number))
        state.clones.append(_url_to_string(clone))


def teardown_databases(state, log, keepdb=False, quiet=False):
    """Drop what ``setup_databases`` created (unless ``keepdb``), stop the
    throwaway server, restore the environment. Every step is attempted; the
    first error is raised at the end (unless ``quiet``), the others are
    warnings."""
    # A second Ctrl-C must not abandon the clean-up half way.
    try:
        previous_sigint = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # pragma: no cover - not the main thread
        previous_sigint = None
    errors = []

    def attempt(what, func, *args):
        try:
            func(*args)
        except Exception as exc:  # keep cleaning up; the first error is raised at the end
            if errors and not quiet:
                log("warning: could not %s: %s" % (what, exc), 0)
            errors.append(exc)

    try:
        isolation = sys.modules.get(__package__ + ".isolation")
        if isolation is not None:  # the test classes' shared connections, before any DROP
            attempt("close the test connections", isolation.close_pinned_connections)
        database = None
        if state.mode is not None:
            try:
                from . import database
            except Exception as exc:  # pragma: no cover
                errors.append(exc)
        if database is not None and not keepdb:
            attempt("drop the databases created for binds", database.destroy_created_databases)
            for clone in state.clones:
                attempt("drop the worker database %s" % clone.rsplit("/", 1)[-1],
                        database.destroy_test_database, database.make_url(clone))
            if state.mode in ("server", "throwaway") and state.created and state.server is None:
                log("Destroying test database %s ..." % (state.display_url or ""), 2)
                attempt("drop the test database", database.destroy_test_database,
                        database.make_url(state.url))
        if state.server is not None:
            attempt("stop the throwaway server", state.server.stop)
            state.server = None
    finally:
        if not state.restore_env:
            pass
        elif state.previous_env is _MISSING:
            os.environ.pop(DATABASE_URL_ENV, None)
        else:
            os.environ[DATABASE_URL_ENV] = state.previous_env
        if previous_sigint is not None:
            signal.signal(signal.SIGINT, previous_sigint)
    if errors and not quiet:
        raise errors[0]
