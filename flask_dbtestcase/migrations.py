"""``check_migrations``, importable where it always was (see :mod:`.databases.migrations`)."""

from __future__ import annotations

from .databases.migrations import check_migrations

__all__ = ["check_migrations"]
