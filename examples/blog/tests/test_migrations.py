import sqlalchemy as sa
from flask_dbtestcase import FlaskDBTestCase


class MigrationsTests(FlaskDBTestCase):
    """The test database is built by migrations/ (schema = "migrations" in pyproject.toml).

    check_migrations fails this class as soon as a model changes without a
    migration: run `flask --app blog db migrate` and commit the result.
    """

    check_migrations = True

    def test_schema_comes_from_the_migrations(self):
        version = self.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        self.assertIsNotNone(version)
