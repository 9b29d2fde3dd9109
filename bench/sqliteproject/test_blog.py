"""The example blog's pytest functions (examples/blog/tests/pytest_style_test.py), unchanged.

Only the ``alice`` fixture is per test here: the recipe's tables are dropped
after each test, so module-wide data cannot outlive one.
"""

import pytest

from blog.models import Post, User
from tests.pytest_style_test import (  # noqa: F401  (collected by pytest from here)
    test_alice_is_there_and_nobody_else,
    test_reading_a_user_is_one_query,
    test_signup,
)


@pytest.fixture
def alice(module_db):
    user = User(username="alice")
    module_db.session.add(user)
    module_db.session.add(Post(author=user, title="Hello"))
    module_db.session.commit()
    return user
