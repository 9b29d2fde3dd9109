"""Seven plain classes of different sizes for --shard: no database work."""

import unittest


class Alpha(unittest.TestCase):
    def test_1(self):
        pass

    def test_2(self):
        pass

    def test_3(self):
        pass

    def test_4(self):
        pass

    def test_5(self):
        pass


class Bravo(unittest.TestCase):
    def test_1(self):
        pass


class Charlie(unittest.TestCase):
    def test_1(self):
        pass

    def test_2(self):
        pass

    def test_3(self):
        pass


class Delta(unittest.TestCase):
    def test_1(self):
        pass

    def test_2(self):
        pass


class Echo(unittest.TestCase):
    def test_1(self):
        pass

    def test_2(self):
        pass

    def test_3(self):
        pass

    def test_4(self):
        pass


class Foxtrot(unittest.TestCase):
    def test_1(self):
        pass


class Golf(unittest.TestCase):
    def test_1(self):
        pass

    def test_2(self):
        pass
