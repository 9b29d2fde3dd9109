import unittest


class Outcomes(unittest.TestCase):
    def test_pass(self):
        print("output of test_pass")
        self.assertTrue(True)

    def test_fail(self):
        print("output of test_fail")
        self.assertEqual(1, 2)

    def test_error(self):
        raise RuntimeError("boom in test_error")

    @unittest.skip("not today")
    def test_skip(self):
        pass


class MorePassing(unittest.TestCase):
    def test_a(self):
        pass

    def test_b(self):
        pass

    def test_c(self):
        pass
