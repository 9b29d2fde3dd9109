"""The databases layer: URLs, the safety check, creating, cloning and
dropping test databases, their schema, and cancelling their queries."""

__all__: list[str] = []
