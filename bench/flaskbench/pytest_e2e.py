"""The realistic suite as pytest functions on the plugin's fixtures, for ``python -m pytest``.

The same test as ``e2e_tests`` (``cases.suite_work``), written the pytest way:
``db`` and ``client`` instead of a FlaskDBTestCase class. The app is the
project's default one: run it with ``FLASK_APP=flaskbench:create_app``.
"""

import os

from .cases import suite_work


def _suite(db, client):  # db: the test runs in the plugin's savepoint
    suite_work(client)


for _i in range(int(os.environ.get("BENCH_SUITE_TESTS", "300"))):
    globals()[f"test_{_i:04d}"] = _suite
del _i
