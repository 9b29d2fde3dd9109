import os
import unittest

from flask_dbtestcase.state import current_run


class Env(unittest.TestCase):
    def test_print_env(self):
        print(f"APP_FACTORY={current_run().settings.factory_spec}")
        print("HAS_DB_URL={}".format(bool(os.environ.get("FLASK_DBTESTCASE_DATABASE_URL"))))
