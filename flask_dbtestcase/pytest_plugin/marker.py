"""The ``flask_db`` marker."""

from __future__ import annotations

__all__ = ["MARKER"]

#: The marker: ``@pytest.mark.flask_db`` / ``@pytest.mark.flask_db(transaction=True)``.
MARKER = "flask_db"
