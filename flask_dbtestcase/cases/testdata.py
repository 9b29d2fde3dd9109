"""setUpTestData's objects, handed to each test as a copy of its own.

Django deep-copies the class attributes setUpTestData creates, once per
test, so a test that changes one cannot affect the next. For SQLAlchemy
objects the equivalent is ``session.merge(obj, load=False)`` into the test's
session: a fresh persistent instance built from the loaded state, without a
query.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa

__all__ = ["TestData", "keep_test_data"]


class TestData:
    """Give each test its own attached copy of a class attribute setUpTestData set.

    :param name: the attribute's name.
    :param value: what setUpTestData set it to.
    """

    __test__ = False  # not a test, whatever pytest thinks of the name

    def __init__(self, name: str, value: t.Any) -> None:
        self.name, self.value = name, value

    def __get__(self, instance: t.Any, owner: type) -> t.Any:
        if instance is None:
            return self.value
        memo = instance.__dict__.setdefault("_testdata_memo", {})
        if self.name not in memo:
            memo[self.name] = _attach(self.value, instance.session)
        return memo[self.name]


def _instances(value: t.Any) -> t.Iterator[t.Any]:
    """The persistent mapped objects in ``value`` (or in its lists, tuples, sets, dicts)."""
    if isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _instances(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _instances(item)
    else:
        state = sa.inspect(value, raiseerr=False)
        if state is not None and getattr(state, "mapper", None) is not None and state.key:
            yield value


def _attach(value: t.Any, session: t.Any) -> t.Any:
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(_attach(item, session) for item in value)
    if isinstance(value, dict):
        return {key: _attach(item, session) for key, item in value.items()}
    if next(_instances(value), None) is not None:
        return session.merge(value, load=False)
    return value


def keep_test_data(cls: type, session: t.Any, before: dict[str, t.Any]) -> None:
    """Wrap what setUpTestData added to ``cls`` so every test gets its own copy.

    Pending work is committed; expired objects are loaded once here, so the
    per-test copies need no query; then the objects are detached.

    :param cls: the test class.
    :param session: the session setUpTestData used.
    :param before: the class's ``__dict__`` before setUpTestData ran.
    """
    # A class whose set-up never used the session has none yet: none is made.
    registry = getattr(session, "registry", None)
    used = registry is None or registry.has()
    if used and (session.new or session.dirty or session.deleted):
        session.commit()
    for name, value in list(cls.__dict__.items()):
        if name in before and before[name] is value:
            continue
        objects = list(_instances(value))
        if not objects:
            continue
        for obj in objects:
            state = sa.inspect(obj)
            if state.session is not None and state.expired_attributes:
                session.refresh(obj)
        setattr(cls, name, TestData(name, value))
    if used:
        session.expunge_all()
        session.remove()
