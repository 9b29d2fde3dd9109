import os
import time
import unittest


class Slow(unittest.TestCase):
    def test_1_quick(self):
        pass

    def test_2_sleeps(self):
        print("SLEEPING", flush=True)
        time.sleep(float(os.environ.get("SUITE_SLEEP", "0.3")))

    def test_3_quick(self):
        pass
