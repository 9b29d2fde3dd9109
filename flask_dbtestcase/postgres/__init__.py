"""The PostgreSQL server layer: the binaries, their processes, the initdb
cache, ``--keepdb`` data and the throwaway server built on them."""

__all__: list[str] = []
