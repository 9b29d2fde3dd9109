import os
import unittest

from flask_dbtestcase.state import STATE


class Env(unittest.TestCase):
    def test_print_env(self):
        print("APP_FACTORY=%s" % STATE.current_settings().factory_spec)
        print("HAS_DB_URL=%s" % bool(os.environ.get("FLASK_DBTESTCASE_DATABASE_URL")))
