"""Ctrl-C during ``--parallel`` while a worker runs Python code: a prompt stop (issue 26.12).

A worker in ``time.sleep(30)`` inside a test: the parent, on SIGINT (sent
to the whole process group, as a terminal does, or to the parent alone),
stops the workers and exits 130 within a few seconds, with one line saying
so, the throwaway server stopped and the databases and directories gone.
"""

from __future__ import annotations

import os
import signal
import time
import unittest

from flask_dbtestcase import tag
from tests.support import SYSTEM_SERVER, Result, run_sql, server_available, wait_until
from tests.test_faults import fault_project

SLEEPING = """
class Sleeps(FlaskDBTestCase):
    app_factory = "myapp:create_app"
    def test_sleeps(self):
        self.session.execute(sa.text("SELECT 1"))
        print("SLEEPING", os.getpid(), flush=True)
        time.sleep(30)
        print("WOKE", flush=True)

class Quick(FlaskDBTestCase):
    app_factory = "myapp:create_app"
    def test_quick(self):
        self.session.execute(sa.text("SELECT 1"))
"""

#: How long the stop may take, from the signal to the run's exit (seconds):
#: about 1 s here (the workers are gone within 30 ms), against 30 s before.
PROMPT = 4.0
#: The same, on an existing server, where the run drops its three databases
#: (about 2.7 s on a loaded machine, as at the end of any run).
PROMPT_EXISTING_SERVER = 8.0


class ParallelInterruptTests(unittest.TestCase):
    def interrupt(
        self, to_group: bool, *args: str, during=lambda: None, prompt: float = PROMPT
    ) -> Result:
        project = fault_project(self, {"test_sleeps.py": SLEEPING})
        started = time.monotonic()
        command = ["-p", "test_sleeps.py", "--parallel", "2", *args]
        proc = project.popen(command, preexec_fn=os.setpgrp)
        line = proc.stdout.readline()
        self.assertTrue(line.startswith("SLEEPING"), line)
        worker = int(line.split()[1])
        self.assertNotEqual(worker, proc.pid)  # in a worker process
        during()
        interrupted = time.monotonic()
        if to_group:
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        else:
            proc.send_signal(signal.SIGINT)
        result = project.finish(proc, started)
        took = time.monotonic() - interrupted
        self.assertLess(took, prompt, f"not a prompt stop ({took:.1f} s)\n{result}")
        self.assertEqual(result.returncode, 130, result)
        self.assertNotIn("WOKE", result.stdout)
        self.assertIn("Interrupted:", result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        self.assertTrue(wait_until(lambda: not _alive(worker), 5), "the worker still runs")
        project.assertNothingLeft(result)
        return result

    def test_ctrl_c_to_the_process_group(self):
        self.interrupt(to_group=True)

    def test_sigint_to_the_parent_only(self):
        self.interrupt(to_group=False)

    @tag("slow")
    @unittest.skipUnless(server_available(), f"no PostgreSQL server at {SYSTEM_SERVER}")
    def test_ctrl_c_drops_the_clones_on_an_existing_server(self):
        name = f"fdbt_pint_{os.getpid()}"

        def databases() -> set[str]:
            rows = run_sql(f"{SYSTEM_SERVER}/postgres", "SELECT datname FROM pg_database")
            return {row[0] for row in rows if name in row[0]}

        def drop() -> None:
            for database in databases():
                run_sql(f"{SYSTEM_SERVER}/postgres", f'DROP DATABASE "{database}" WITH (FORCE)')

        self.addCleanup(drop)
        url = f"{SYSTEM_SERVER}/{name}"

        def clones_exist() -> None:
            self.assertIn(f"test_{name}_1", databases())

        self.interrupt(
            True,
            "--database-url",
            url,
            "--noinput",
            during=clones_exist,
            prompt=PROMPT_EXISTING_SERVER,
        )
        self.assertEqual(databases(), set())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
