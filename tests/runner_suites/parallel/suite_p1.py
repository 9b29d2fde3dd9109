import os
import time
import unittest

from suite_dbhelper import connect


class Worker1(unittest.TestCase):
    def test_writes_own_database(self):
        conn = connect()
        try:
            with conn, conn.cursor() as cur:
                cur.execute("SELECT current_database()")
                print("WORKER %s DB %s" % (os.environ.get("FLASK_DBTESTCASE_WORKER_ID"), cur.fetchone()[0]), flush=True)
                time.sleep(0.2)
        finally:
            conn.close()

    def test_fails_1(self):
        self.assertEqual("worker 1", "expected", "failure from class 1")
