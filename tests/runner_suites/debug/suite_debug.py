import unittest


class Debugged(unittest.TestCase):
    def test_errors(self):
        other = 41 + 1
        raise RuntimeError(f"boom {other}")

    def test_fails(self):
        secret = "the local seen by pdb"
        if secret:
            raise self.failureException("custom failure")

    def test_passes(self):
        pass
