"""What the app keeps between tests: ``app.config``, put back; the hook for the rest.

What a test (or a class's hooks) changes in ``app.config`` is undone after it.

A snapshot is a shallow copy of the config, plus a copy of each value that
is a mutable container (``dict``, ``list``, ``set``, and their subclasses):
its containers, nested at any depth, are copied; anything else in them
(strings, numbers, clients, locks) is kept by reference, as production
keeps it. So ``app.config["FEATURES"]["beta"] = True`` is undone too, and
no client or lock is ever duplicated. Only the containers are copied:
configs hold few, so a snapshot costs about what the shallow copy does.

A container the test changed in place is put back in place: an extension
that kept a reference to ``app.config["FEATURES"]`` sees the original
values again, in the same object.

Everything else the app object holds (its extensions' state, caches) is
the app's own, as in production: :meth:`AppStateHooks.reset_app_state` is
where a test case class resets it after each test.
"""

from __future__ import annotations

import copy
import datetime
import typing as t

__all__ = ["AppStateHooks", "ConfigSnapshot", "end_test", "restore_config", "snapshot"]

_CONTAINERS = (dict, list, set)
#: The types most config values have: never containers (checked first, for speed).
_SCALARS = frozenset({bool, int, float, str, bytes, type(None), datetime.timedelta})


def _copy(value: t.Any) -> t.Any:
    """Copy the containers of ``value`` (at any depth); keep anything else by reference."""
    kind = type(value)
    if kind is dict:
        return {key: _copy(item) for key, item in value.items()}
    if kind is list:
        return [_copy(item) for item in value]
    if kind is tuple:
        return tuple(_copy(item) for item in value)
    if kind is set:
        return set(value)  # its members are hashable: no containers to copy
    if isinstance(value, _CONTAINERS):  # a subclass (OrderedDict, defaultdict ...)
        try:
            copied = copy.copy(value)
        except Exception:  # cannot be copied: kept as it is, as before
            return value
        if isinstance(copied, dict):
            for key in copied:
                copied[key] = _copy(copied[key])
        elif isinstance(copied, list):
            copied[:] = [_copy(item) for item in copied]
        return copied
    return value


def _put_back(current: t.Any, saved: t.Any) -> None:
    """Give the container ``current`` the contents of ``saved`` (its copy), in place."""
    if isinstance(current, dict):
        current.clear()
        current.update(saved)
    elif isinstance(current, list):
        current[:] = saved
    else:
        current.clear()
        current.update(saved)


def _differs(current: t.Any, saved: t.Any) -> bool:
    """Tell whether ``current`` no longer equals ``saved`` (a value that cannot say: it does)."""
    try:
        return bool(current != saved)
    except Exception:  # an array's elementwise ==, a broken __eq__
        return True


class ConfigSnapshot:
    """``app.config`` as it was: its keys, and a copy of each container value.

    :param config: the config (a mapping).
    """

    def __init__(self, config: t.Mapping[str, t.Any]) -> None:
        self.values = values = dict(config)
        #: Each container value: the object, and a copy of its contents.
        self.containers = [
            (value, _copy(value))
            for value in values.values()
            if type(value) not in _SCALARS and isinstance(value, _CONTAINERS)
        ]

    def restore(self, config: t.MutableMapping[str, t.Any]) -> None:
        """Put ``config`` back as it was, its containers' contents included.

        The snapshot stays as it was taken: it may be restored again (after
        each test of a class).

        :param config: the config the snapshot was taken of.
        """
        for value, saved in self.containers:
            if _differs(value, saved):  # changed in place: put back in place, a copy
                _put_back(value, _copy(saved))
        if _differs(config, self.values):
            config.clear()
            config.update(self.values)


def snapshot(config: t.Mapping[str, t.Any]) -> ConfigSnapshot:
    """Take a snapshot of ``config``, to undo what is changed in it later.

    :param config: the app's config.
    """
    return ConfigSnapshot(config)


def restore_config(app: t.Any, snapshot: ConfigSnapshot | None) -> None:
    """Put ``app.config`` back as ``snapshot`` found it (nothing if it is None).

    :param app: the Flask app.
    :param snapshot: what :func:`snapshot` took.
    """
    if snapshot is not None:
        snapshot.restore(app.config)


class AppStateHooks:
    """The hook that resets what the app keeps between tests (a base of the test cases)."""

    def reset_app_state(self) -> None:
        """Reset what the app keeps between tests: override it; called after each test.

        The rollback undoes the database and ``app.config`` is put back, but
        the app object is built once and shared: its extensions' state (a
        cache's values, a rate limiter's counters), module globals and
        anything else kept on it persist from test to test, as they do
        between requests in production. Clear them here, e.g. with
        Flask-Caching's ``cache.clear()``. It runs after ``tearDown`` and the
        test's clean-ups, in the class's app context, before the test's
        transaction is rolled back and ``app.config`` is put back; an error
        in it is the test's error. It does nothing by default.
        """


def end_test(test: AppStateHooks, app: t.Any, before: ConfigSnapshot | None) -> None:
    """After a test: call its :meth:`~AppStateHooks.reset_app_state`, then put the config back.

    :param test: the test that ended.
    :param app: its Flask app.
    :param before: the config's snapshot from the test's start (None: none was taken).
    """
    try:
        test.reset_app_state()
    finally:
        restore_config(app, before)
