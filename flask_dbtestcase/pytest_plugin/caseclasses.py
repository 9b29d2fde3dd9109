"""The hidden test case classes the plugin's tests run in: one per app, kind and options.

As pytest-django builds its ``db`` fixture on Django's ``TestCase``, the
plugin builds on :class:`~flask_dbtestcase.FlaskDBTestCase` (a ``db`` test)
and :class:`~flask_dbtestcase.FlaskDBTransactionTestCase` (a
``transactional_db`` test). :mod:`.casemanager` opens their class
lifecycle for a stretch of tests. The ``flask_db`` marker's ``databases``
and ``serialized_rollback`` are those classes' attributes of that name.
"""

from __future__ import annotations

import dataclasses
import typing as t

if t.TYPE_CHECKING:
    from flask import Flask

    from ..cases.classes import FlaskDBTestCase, FlaskDBTransactionTestCase

    Case = type[FlaskDBTestCase] | type[FlaskDBTransactionTestCase]

__all__ = [
    "DEFAULT_OPTIONS",
    "SAVEPOINT",
    "TRANSACTION",
    "CaseClasses",
    "CaseOptions",
    "set_up_class",
    "tear_down_class",
]

#: A test in the per-test savepoint (``db``).
SAVEPOINT = "db"
#: A test that really commits (``transactional_db``).
TRANSACTION = "transactional_db"


@dataclasses.dataclass(frozen=True)
class CaseOptions:
    """What tests ask of their case class beyond its kind (the ``flask_db`` marker's arguments).

    Tests with other options run in a class of their own.

    :param databases: the class's ``databases`` (``None``: all of the app's).
    :param serialized_rollback: the class's ``serialized_rollback`` (transactional classes).
    """

    databases: tuple[str, ...] | None = None
    serialized_rollback: bool = False

    def namespace(self) -> dict[str, t.Any]:
        """Return the attributes of a case class with these options."""
        namespace: dict[str, t.Any] = {}
        if self.databases is not None:
            namespace["databases"] = self.databases
            # The class's name is what the refusals of the other databases name.
            namespace["__qualname__"] = "@pytest.mark.flask_db"
        if self.serialized_rollback:
            namespace["serialized_rollback"] = True
        return namespace


#: Tests that ask for nothing more than their kind.
DEFAULT_OPTIONS = CaseOptions()


class CaseClasses:
    """The hidden case classes of one pytest session, made on first use."""

    def __init__(self) -> None:
        self._classes: dict[tuple[int, str, CaseOptions], tuple[Flask, Case]] = {}
        self._create_apps: dict[int, classmethod[t.Any, t.Any, Flask]] = {}

    @staticmethod
    def _is_shared(app: Flask) -> bool:
        """Tell whether ``app`` is one the test case classes share (the ``app`` fixture's)."""
        from ..cases.appcache import is_cached

        return is_cached(app)

    def class_for(self, app: Flask, kind: str, options: CaseOptions = DEFAULT_OPTIONS) -> Case:
        """Return the class the tests of ``kind`` with ``options`` on ``app`` run in.

        :param app: the tests' app.
        :param kind: SAVEPOINT or TRANSACTION.
        :param options: what else the tests asked for.
        """
        key = (id(app), kind, options)
        found = self._classes.get(key)
        if found is not None and found[0] is app:
            return found[1]
        from ..cases.classes import FlaskDBTestCase, FlaskDBTransactionTestCase

        base = FlaskDBTestCase if kind == SAVEPOINT else FlaskDBTransactionTestCase

        name = "the db fixture" if kind == SAVEPOINT else "the transactional_db fixture"
        namespace: dict[str, t.Any] = {"__qualname__": name, **options.namespace()}
        if id(app) in self._create_apps or not self._is_shared(app):
            # The project's own app fixture: all its case classes share one
            # create_app, so they share one cached app (and its pins).
            namespace["create_app"] = self._create_apps.setdefault(id(app), _returning(app))
        cls = t.cast("Case", type("PytestCase", (base,), namespace))
        self._classes[key] = (app, cls)
        return cls


def set_up_class(cls: Case) -> None:
    """``setUpClass``; its class cleanups if it fails (call it in the class's own context).

    :param cls: a hidden case class.
    """
    try:
        cls.setUpClass()
    except BaseException:
        cls.doClassCleanups()
        raise


def tear_down_class(cls: Case) -> None:
    """``tearDownClass``, then its class cleanups (call it in the class's own context).

    :param cls: a hidden case class, set up.
    """
    try:
        cls.tearDownClass()
    finally:
        cls.doClassCleanups()


def _returning(app: Flask) -> classmethod[t.Any, t.Any, Flask]:
    """Return a ``create_app`` classmethod that hands out ``app`` (built by the project's fixture).

    :param app: the app, already on the test configuration.
    """

    def create_app(cls: type, config: dict[str, t.Any]) -> Flask:
        return app

    return classmethod(create_app)
