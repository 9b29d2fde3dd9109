import unittest

from suite_dbhelper import report_worker_database


class Worker1(unittest.TestCase):
    def test_writes_own_database(self):
        report_worker_database()

    def test_fails_1(self):
        self.assertEqual("worker 1", "expected", "failure from class 1")
