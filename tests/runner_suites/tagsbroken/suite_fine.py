import unittest

from flask_dbtestcase import tag


class Fine(unittest.TestCase):
    @tag("core")
    def test_core(self):
        pass
