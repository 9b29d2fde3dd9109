"""A run the test classes opened themselves, whose server is gone at exit.

Without the runner (``python -m unittest``, a script), the first test class
opens the process's run on ``FLASK_DBTESTCASE_DATABASE_URL`` and it is
closed at exit. When that server stopped first (a docker-compose service or
a CI service container stopped before the tests' process ended), the close
fails: the user reads one paragraph naming the test database, not
"Exception ignored in atexit callback" and a driver's traceback.
"""

from __future__ import annotations

import sys
import unittest

from flask_dbtestcase import tag
from tests.support import Project, app_source

#: The scenario of the bench (bench/common.py, ``bench_database``): a
#: throwaway server of the script's own, a database made on it and handed
#: over in FLASK_DBTESTCASE_DATABASE_URL, the test classes run with
#: unittest, then the server stopped before the process exits.
SCRIPT = """
import os
import sys
import unittest

from flask_dbtestcase.databases.creation import Timeouts, create_test_database
from flask_dbtestcase.databases.drivers import choose_driver
from flask_dbtestcase.databases.urls import parse_test_url
from flask_dbtestcase.postgres.server import ThrowawayServer
from flask_dbtestcase.settings import Settings

settings = Settings.load()
driver = choose_driver(settings.driver).name
server = ThrowawayServer.start(settings.server_config())
try:
    url = server.url("test_exitclose", driver)
    create_test_database(parse_test_url(url, driver), Timeouts(), interactive=False)
    os.environ["FLASK_DBTESTCASE_DATABASE_URL"] = url

    from flask_dbtestcase import FlaskDBTestCase
    from myapp import Thing, db

    class Counts(FlaskDBTestCase):
        app_factory = "myapp:create_app"

        def test_writes(self):
            db.session.add(Thing(name="one"))
            db.session.flush()
            self.assertEqual(Thing.query.count(), 1)

    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Counts)
    unittest.TextTestRunner(stream=sys.stderr).run(suite)
finally:
    server.stop()
"""


@tag("slow")
class ExitCloseTests(unittest.TestCase):
    def test_a_server_gone_at_exit_is_one_paragraph(self):
        project = Project(
            self,
            {"myapp.py": app_source("exitclose_things"), "exit_close.py": SCRIPT},
            private_runtime=True,  # the script's server in a directory of its own
        )
        result = project.run([], command=[sys.executable, "exit_close.py"])
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("Ran 1 test", result.stderr)
        self.assertIn("\nOK\n", result.stderr)
        self.assertIn(
            "flask-dbtestcase: could not clean up the test databases at the end of the run (",
            result.stderr,
        )
        self.assertIn("The test database test_exitclose (from", result.stderr)
        self.assertIn(
            "Most likely the database server stopped before the tests' process ended",
            result.stderr,
        )
        self.assertNotIn("Traceback", result.stderr)
        self.assertNotIn("Exception ignored", result.stderr)


if __name__ == "__main__":
    unittest.main()
