"""The same pairs inside the scope of module_db's shared data."""

import pytest
from test_config import check_then_mutate


@pytest.fixture(scope="module")
def shared(module_db):
    return "shared"


def test_5_module_db(app, config, shared, db):
    check_then_mutate(app, config)


def test_8_module_db(app, config, shared, db):
    check_then_mutate(app, config)
