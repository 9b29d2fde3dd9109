import unittest

from suite_dbhelper import report_worker_database


class Worker2(unittest.TestCase):
    def test_writes_own_database(self):
        report_worker_database()

    def test_fails_2(self):
        self.assertEqual("worker 2", "expected", "failure from class 2")
