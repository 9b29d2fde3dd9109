"""schema = "migrations": the test database is built by the project's Flask-Migrate migrations.

Run by tests/test_migrations.py in a process of its own, on a test database
of its own: a project has one schema per test database, and this app's must
not meet the other test apps' tables (the migrations check would rightly
report them as unmigrated).
"""

from __future__ import annotations

import sqlalchemy as sa

from flask_dbtestcase import ConfigurationError, FlaskDBTestCase
from flask_dbtestcase.migrations import check_migrations
from tests.migrationsapp import MIGRATIONS, Account, create_app, db


class MigratedSchemaTests(FlaskDBTestCase):
    app_factory = create_app
    schema = "migrations"
    check_migrations = True

    def test_schema_and_data_migration_applied(self):
        # Only the migration inserts this row: create_all() would leave the table empty.
        self.assertRowCount(Account, 1, email="system@example.com")
        version = db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        self.assertEqual(version, "3e9fe7980e86")

    def test_writes_roll_back_on_a_migrated_schema(self):
        db.session.add(Account(email="new@example.com"))
        db.session.commit()
        self.assertRowCount(Account, 2)

    def test_each_test_starts_from_the_migrated_state(self):
        self.assertRowCount(Account, 1)

    def test_app_loggers_survive_alembic_logging_config(self):
        self.assertFalse(self.app.logger.disabled)

    def test_models_ahead_of_migrations_are_reported(self):
        column = sa.Column("nickname", sa.String(40))
        Account.__table__.append_column(column)
        try:
            with self.assertRaises(ConfigurationError) as caught:
                check_migrations(self.app, MIGRATIONS)
        finally:
            Account.__table__._columns.remove(column)
        self.assertIn("The models and the migrations disagree", str(caught.exception))
        self.assertIn("flask db migrate", str(caught.exception))

    def test_migrated_tables_are_watched(self):
        # The watch (issue 12, item 7) comes after the migrations, on the models' tables.
        found = db.session.execute(
            sa.text(
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'flask_dbtestcase_watch'"
                " AND tgrelid = 'account'::regclass"
            )
        ).scalar()
        self.assertEqual(found, 1)

    def test_migrations_match_models(self):
        check_migrations(self.app, MIGRATIONS)  # raises if they disagree
