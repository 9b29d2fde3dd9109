import os
import unittest


class Dies(unittest.TestCase):
    def test_1_passes(self):
        pass

    def test_2_dies(self):
        os._exit(3)  # the worker process vanishes mid-test

    def test_3_never_runs(self):
        pass


class Survives(unittest.TestCase):
    def test_survives(self):
        pass
