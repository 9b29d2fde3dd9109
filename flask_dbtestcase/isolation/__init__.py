"""The isolation layer: one pinned connection per test database, on which
every transaction the app opens becomes a lazily sent savepoint."""

__all__: list[str] = []
