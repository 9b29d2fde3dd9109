"""schema = "migrations", run in a process (and so a test database) of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class MigrationsTests(unittest.TestCase):
    def test_migration_cases_pass_on_their_own_database(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_DBTESTCASE_DATABASE_URL")}
        proc = subprocess.run(
            [sys.executable, "-m", "unittest", "-v", "tests.migrationsapp.cases"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )
        output = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, 0, output)
        self.assertIn("Ran 6 tests", output)
        self.assertRegex(output, r"test_models_ahead_of_migrations_are_reported \(.*\) \.\.\. ok")
        self.assertNotIn("No new upgrade operations detected", output)  # Alembic kept quiet
