import unittest

from flask_dbtestcase import tag


@tag("slow")
class SlowThings(unittest.TestCase):
    def test_slow_plain(self):
        pass

    @tag("core")
    def test_slow_core(self):
        pass


@tag("fast")
class FastSubclass(SlowThings):
    """Inherits SlowThings' tests and its "slow" tag, and adds "fast"."""


class Untagged(unittest.TestCase):
    @tag("core", "db")
    def test_core(self):
        pass

    def test_plain(self):
        pass
