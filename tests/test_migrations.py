"""schema = "migrations", run in a process (and so a test database) of its own."""

from __future__ import annotations

import unittest

from tests.support import ROOT, Project


class MigrationsTests(unittest.TestCase):
    def test_migration_cases_pass_on_their_own_database(self):
        project = Project(self, directory=ROOT, module="unittest", timeout=120)
        proc = project.run(["-v", "tests.migrationsapp.cases"])
        output = proc.output
        self.assertEqual(proc.returncode, 0, output)
        self.assertIn("Ran 6 tests", output)
        self.assertRegex(output, r"test_models_ahead_of_migrations_are_reported \(.*\) \.\.\. ok")
        self.assertNotIn("No new upgrade operations detected", output)  # Alembic kept quiet
