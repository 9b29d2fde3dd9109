import unittest

from flask_dbtestcase.errors import ConfigurationError


class BadSetup(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise ConfigurationError("The app factory 'nope:create_app' could not be imported. Fix it.")

    def test_never_runs(self):
        pass


class Fine(unittest.TestCase):
    def test_ok(self):
        pass
