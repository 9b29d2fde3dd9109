import unittest

from suite_dbhelper import report_worker_database


class Worker3(unittest.TestCase):
    def test_writes_own_database(self):
        report_worker_database()

    def test_fails_3(self):
        self.assertEqual("worker 3", "expected", "failure from class 3")
