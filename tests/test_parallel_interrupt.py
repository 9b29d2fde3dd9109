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

from tests.support import Result, wait_until
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

#: How long the stop may take, from the signal to the run's exit (seconds).
PROMPT = 4.0


class ParallelInterruptTests(unittest.TestCase):
    def interrupt(self, to_group: bool) -> Result:
        project = fault_project(self, {"test_sleeps.py": SLEEPING})
        started = time.monotonic()
        proc = project.popen(["-p", "test_sleeps.py", "--parallel", "2"], preexec_fn=os.setpgrp)
        line = proc.stdout.readline()
        self.assertTrue(line.startswith("SLEEPING"), line)
        worker = int(line.split()[1])
        self.assertNotEqual(worker, proc.pid)  # in a worker process
        interrupted = time.monotonic()
        if to_group:
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        else:
            proc.send_signal(signal.SIGINT)
        result = project.finish(proc, started)
        took = time.monotonic() - interrupted
        self.assertLess(took, PROMPT, f"not a prompt stop ({took:.1f} s)\n{result}")
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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
