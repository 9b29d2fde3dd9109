"""How the test database was built: $EXPECTED_SCHEMA is "migrations" or "create_all"."""

import os

import sqlalchemy as sa


def test_schema_source(db):
    tables = sa.inspect(db.session.connection()).get_table_names()
    seeded = db.session.execute(
        sa.text("SELECT count(*) FROM account WHERE email = 'system@example.com'")
    ).scalar()
    if os.environ["EXPECTED_SCHEMA"] == "migrations":
        assert "alembic_version" in tables
        assert seeded == 1  # only the migration inserts this row
    else:
        assert "alembic_version" not in tables
        assert seeded == 0
