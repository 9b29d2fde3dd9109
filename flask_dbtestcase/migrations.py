"""``check_migrations``, importable where it always was (see :mod:`.databases.flaskmigrate`)."""

from __future__ import annotations

from .databases.flaskmigrate import check_migrations

__all__ = ["check_migrations"]
