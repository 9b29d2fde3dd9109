"""pytest-django's parity, run as a user runs it: pytest on small projects, in a subprocess.

Each test copies a project of tests/pytest_parity to a temporary directory
and runs pytest on it (see that folder's README): the ``flask_db`` marker's
arguments, settings found from pytest's rootdir, the app factory named by an
ini key or an option, ``--migrations`` / ``--no-migrations``, and the
request and config fixtures.
"""

from __future__ import annotations

import importlib.util
import re
import unittest

from tests.support import Result
from tests.test_plugin_inert import QUIET, copied_project

HAVE_PYTEST = importlib.util.find_spec("pytest") is not None


def outcomes(result: Result) -> dict[str, str]:
    """Each test's outcome in a ``-v`` run: ``{"test_x": "PASSED", ...}``."""
    found = re.findall(r"::(\w+) (PASSED|FAILED|ERROR|SKIPPED)", result.stdout)
    return dict(found)


@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed (pip install -e '.[test]')")
class MarkerTests(unittest.TestCase):
    """``@pytest.mark.flask_db`` takes pytest-django's arguments, and refuses anything else."""

    maxDiff = None

    def test_arguments_and_refusals(self):
        project = copied_project(self, "pytest_parity/marker")
        result = project.run([*QUIET, "-v"])
        found = outcomes(result)
        refused = {name for name in found if name.startswith("test_refused_")}
        self.assertEqual(
            {name: outcome for name, outcome in found.items() if name not in refused},
            {
                "test_plain_marker_is_a_db_test": "PASSED",
                "test_transaction_really_commits": "PASSED",
                "test_transaction_given_by_position": "PASSED",
                "test_db_test_moves_the_sequence_on": "PASSED",
                "test_reset_sequences": "PASSED",
                "test_databases_limits_the_test": "PASSED",
                "test_databases_listed_both": "PASSED",
                "test_bind_usable_without_the_marker": "PASSED",
                "test_serialized_rollback_is_the_case_class_attribute": "PASSED",
                "test_serialized_rollback_in_a_db_test_has_nothing_to_do": "PASSED",
                "test_shared_data": "PASSED",
            },
            result,
        )
        self.assertEqual(len(refused), 6, result)
        self.assertEqual({found[name] for name in refused}, {"ERROR"}, result)
        # Refused before the test ran, in one paragraph each, without a traceback.
        self.assertNotIn("AssertionError: ran", result.output)
        self.assertNotIn("Traceback", result.output)
        for message in (
            "@pytest.mark.flask_db(transacton=True): flask_db has no argument 'transacton' "
            "(did you mean 'transaction'?). It takes transaction, reset_sequences, databases "
            "and serialized_rollback, as pytest-django's django_db marker does.",
            "@pytest.mark.flask_db(transaction='yes'): transaction must be True or False, "
            "not 'yes'.",
            "@pytest.mark.flask_db(False, False, None, False, None): too many positional "
            "arguments.",
            "@pytest.mark.flask_db(databases='nope') names 'nope', which is not a database of "
            "the app: its databases are 'audit' and 'default'",
            "@pytest.mark.flask_db(databases=[1]): databases must be '__all__' or a list of "
            "database names",
            "test_marker_shared.py::test_refused_inside_shared_data limits its databases "
            "(@pytest.mark.flask_db(databases=...)), but it runs inside the scope of the "
            "shared data of 'module_db'",
        ):
            self.assertIn(message, result.stdout)
        self.assertIn("11 passed, 6 errors", result.stdout)


if __name__ == "__main__":
    unittest.main()
