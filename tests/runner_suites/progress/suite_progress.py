import os
import time
import unittest


class Progress(unittest.TestCase):
    def test_1_first(self):
        pass

    def test_2_waits_for_the_first_result(self):
        # The parent test creates this file once the runner has printed
        # test_1_first's result: only a runner that reports results while a
        # worker still runs its class gets past this.
        path = os.environ["PROGRESS_SEEN"]
        deadline = time.monotonic() + 30
        while not os.path.exists(path):
            if time.monotonic() > deadline:
                self.fail("test_1_first's result was not shown while its class still ran")
            time.sleep(0.01)


class Other(unittest.TestCase):
    def test_other(self):
        pass
