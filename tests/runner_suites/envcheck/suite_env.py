import os
import unittest


class Env(unittest.TestCase):
    def test_print_env(self):
        print("APP_FACTORY=%s" % os.environ.get("FLASK_DBTESTCASE_APP_FACTORY"))
        print("HAS_DB_URL=%s" % bool(os.environ.get("FLASK_DBTESTCASE_DATABASE_URL")))
