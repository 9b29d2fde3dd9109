import unittest


class Counted(unittest.TestCase):
    def test_fails_then_errors_in_teardown(self):
        self.addCleanup(self.break_cleanup)
        self.fail("first failure")

    def break_cleanup(self):
        raise RuntimeError("and an error in its clean-up")

    def test_fails_in_three_subtests(self):
        for number in range(3):
            with self.subTest(number=number):
                self.fail(f"subtest {number}")

    def test_passes(self):
        pass
