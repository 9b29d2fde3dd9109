"""A thread that outlives its test is reported: the test it is refused in fails, naming it.

Run by tests/test_threads.py in a process of its own (in this order), which
expects ``test_2`` to fail at its end with the refusal of the worker
``test_1`` started and never joined, although ``test_2``'s own assertions
(no row of the worker's, on the test connection or a separate real one) pass.
"""

from __future__ import annotations

from tests.threads.suite_late import LateCase, LateWorker, started


class ReportTests(LateCase):
    def tearDown(self):
        pass  # the report is left to fail the test

    def test_1_starts_a_worker(self):
        worker = LateWorker(self.app)
        started.append(worker)
        worker.start()
        self.assertTrue(worker.committed.wait(30))

    def test_2_is_not_polluted_but_fails(self):
        worker = started[0]
        self.assertTrue(worker.wait_refused(len(worker.refused)))
        self.assertNothingLeaked()
