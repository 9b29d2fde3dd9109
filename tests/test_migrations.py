"""schema = "migrations", run in a process of its own, on a test database of its own."""

from __future__ import annotations

import unittest

from flask_dbtestcase import tag
from tests.support import ROOT, Project, fresh_database


@tag("slow")
class MigrationsTests(unittest.TestCase):
    def test_migration_cases_pass_on_their_own_database(self):
        # A new database on this run's server: the child uses it as it is
        # (no server of its own), and its tables meet no other app's. A
        # process of its own: Alembic configures the logging of the process.
        with fresh_database() as url:
            project = Project(
                self,
                directory=ROOT,
                module="unittest",
                timeout=120,
                env={"FLASK_DBTESTCASE_DATABASE_URL": url},
            )
            proc = project.run(["-v", "tests.migrationsapp.cases"])
        output = proc.output
        self.assertEqual(proc.returncode, 0, output)
        self.assertIn("Ran 7 tests", output)
        self.assertRegex(output, r"test_models_ahead_of_migrations_are_reported \(.*\) \.\.\. ok")
        self.assertNotIn("No new upgrade operations detected", output)  # Alembic kept quiet
