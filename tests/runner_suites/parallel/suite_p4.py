import unittest

from suite_dbhelper import report_worker_database


class Worker4(unittest.TestCase):
    def test_writes_own_database(self):
        report_worker_database()

    def test_fails_4(self):
        self.assertEqual("worker 4", "expected", "failure from class 4")
