import json
import os

import pytest
import sqlalchemy as sa


def pytest_collection_modifyitems(items):
    if os.environ.get("REVERSE") == "1":  # pytest has no --reverse
        items.reverse()


@pytest.fixture
def record(request):
    """Append what database the test ran on to $RECORD_FILE (one JSON line)."""

    def write(session):
        row = session.execute(
            sa.text(
                "SELECT current_database(), current_setting('data_directory'),"
                " (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        ).one()
        with open(os.environ["RECORD_FILE"], "a") as f:
            line = {
                "test": request.node.nodeid,
                "pid": os.getpid(),
                "worker": os.environ.get("PYTEST_XDIST_WORKER"),
                "database": row[0],
                "data_directory": row[1],
                "oid": row[2],
            }
            f.write(json.dumps(line) + "\n")

    return write
