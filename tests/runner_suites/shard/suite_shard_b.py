"""A second module, so the shards cut across modules too."""

import unittest


class Hotel(unittest.TestCase):
    def test_1(self):
        pass

    def test_2(self):
        pass


class India(unittest.TestCase):
    def test_1(self):
        pass
