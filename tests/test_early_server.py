"""The throwaway server started while the tests load (databases/earlystart.py),
and the keeper thread it starts in (postgres/background.py): real servers."""

from __future__ import annotations

import unittest

from flask_dbtestcase.databases.config import THROWAWAY_DATABASE
from flask_dbtestcase.databases.earlystart import start_early
from flask_dbtestcase.postgres.background import Background
from flask_dbtestcase.postgres.server import ThrowawayServer
from flask_dbtestcase.runner import DBTestRunner
from flask_dbtestcase.settings import Settings
from tests.support import (
    nested_state,
    pid_running,
    removed,
    run_sql,
    server_config,
    set_env,
    wait_until,
)


class EarlyServerTests(unittest.TestCase):
    def setUp(self) -> None:
        # As a run with no database given: the runner around us exports its own.
        set_env(self, FLASK_DBTESTCASE_DATABASE_URL=None, TEST_DATABASE_URL=None)
        state = nested_state(outside=True)
        state.__enter__()
        self.addCleanup(state.__exit__, None, None, None)

    def test_taken_server_runs_with_its_test_database_and_the_thread_ends_after_stop(self):
        early = start_early(Settings.load().databases_config())
        server, elapsed, error = early.take()
        try:
            self.assertIsNone(error)
            self.assertGreater(elapsed, 0)
            url = server.url(THROWAWAY_DATABASE, "psycopg2")
            self.assertEqual(run_sql(url, "SELECT current_database()")[0][0], THROWAWAY_DATABASE)
            self.assertTrue(early.job.running)  # keeps the server's death signal armed
        finally:
            server.stop()
            early.discard()
        self.assertTrue(wait_until(lambda: not early.job.running))

    def test_discarded_before_use_stops_the_server_and_removes_its_directory(self):
        early = start_early(Settings.load().databases_config())
        server, _, _ = early.job.result()
        assert server.postmaster.child_process is not None
        postmaster = server.postmaster.child_process.pid
        early.discard()
        self.assertFalse(pid_running(postmaster))
        self.assertTrue(removed(server.base_dir))
        self.assertTrue(wait_until(lambda: not early.job.running))

    def test_no_early_start_when_a_database_is_given(self):
        self.assertTrue(DBTestRunner().needs_throwaway_server())
        given = DBTestRunner(database_url="postgresql://postgres@127.0.0.1/app")
        self.assertFalse(given.needs_throwaway_server())
        set_env(self, TEST_DATABASE_URL="postgresql://postgres@127.0.0.1/app")
        self.assertFalse(DBTestRunner().needs_throwaway_server())


class KeeperThreadTests(unittest.TestCase):
    def test_what_the_keeper_thread_spawned_dies_when_it_ends(self):
        job = Background(lambda: ThrowawayServer.start(server_config()), "test keeper")
        server = job.result()
        self.addCleanup(server.stop)
        assert server.postmaster.child_process is not None
        postmaster = server.postmaster.child_process.pid
        self.assertTrue(pid_running(postmaster))
        job.release()  # the thread ends: the death signal reaches the postmaster
        self.assertTrue(wait_until(lambda: not pid_running(postmaster)))

    def test_an_error_in_the_work_is_raised_by_result(self):
        def fail() -> None:
            raise ValueError("no server today")

        job = Background(fail, "test keeper")
        self.addCleanup(job.release)
        with self.assertRaisesRegex(ValueError, "no server today"):
            job.result()
