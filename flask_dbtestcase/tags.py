"""``@tag(...)``: name groups of tests to run or leave out with the runner's
``--tag`` and ``--exclude-tag``, as Django's ``django.test.tag``.

A class's tags are its methods' tags too, and a subclass inherits them
(adding its own). Nothing here imports the rest of the package.
"""

from __future__ import annotations

import typing as t

__all__ = ["tag", "tags_of"]

_T = t.TypeVar("_T")


def tag(*names: str) -> t.Callable[[_T], _T]:
    """Return a decorator adding ``names`` to a test class's or method's tags.

    :param names: the tags, e.g. ``"slow"``, ``"core"``.
    """

    def decorator(obj: _T) -> _T:
        # A new set, so that a subclass's tags never reach its parent.
        setattr(obj, "tags", set(getattr(obj, "tags", ())).union(names))  # noqa: B010
        return obj

    return decorator


def tags_of(test: object) -> set[str]:
    """Return a test's tags: its class's (inherited ones included) and its method's.

    :param test: a ``unittest.TestCase`` instance.
    """
    tags = set(getattr(test, "tags", ()))
    method = getattr(test, getattr(test, "_testMethodName", ""), None)
    if method is not None:
        tags.update(getattr(method, "tags", ()))
    return tags
