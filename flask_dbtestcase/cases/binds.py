"""The binds of an app under test: a test database each, or the one they mirror.

An app's ``SQLALCHEMY_BINDS`` come from its own settings, which the factory
loads before it applies the test config; the factory is called once, so the
binds cannot be known up front. While the factory runs, the app's config is
a :class:`BindsConfig` that records what ``SQLALCHEMY_DATABASE_URI`` was set
to and, when Flask-SQLAlchemy's ``init_app`` reads ``SQLALCHEMY_BINDS``,
hands it the binds pointed at their test databases.

A bind *mirrors* another database (Django's TEST ``MIRROR``: a read replica
in production) when its URL is the default database's own, or when
``mirrors`` says so (``[tool.flask-dbtestcase] mirrors`` or the test class's
``mirrors``): it then uses that database's test database, and the same
connection.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import typing as t

import sqlalchemy as sa
from flask import Config, Flask

from ..databases.urls import bind_database_url, parse_url, same_database
from ..errors import ConfigurationError

__all__ = [
    "LITE_KEYS",
    "BindPlan",
    "BindsConfig",
    "bind_test_databases",
    "planning_binds",
    "settle_config",
    "stray_binds",
]

#: The plan of the factory call in progress, read by BindsConfig.
_PLAN: contextvars.ContextVar[BindPlan | None] = contextvars.ContextVar("bind_plan", default=None)

_DEFAULT = "default"

#: Flask-SQLAlchemy-Lite's engines and async engines, by name.
LITE_KEYS = ("SQLALCHEMY_ENGINES", "SQLALCHEMY_ASYNC_ENGINES")


@dataclasses.dataclass
class BindPlan:
    """Where each bind of the app being built goes.

    :param main: the test database.
    :param mirrors: bind keys mapped to the database they mirror (``"default"``
        or another bind key).
    :param create: creates a bind's test database unless it exists (the run's
        :meth:`~flask_dbtestcase.databases.lifecycle.TestDatabases.create_database`).
    """

    main: sa.URL
    mirrors: dict[str, str] = dataclasses.field(default_factory=dict)
    create: t.Callable[[sa.URL], None] | None = None
    #: The values the app's config gave SQLALCHEMY_DATABASE_URI, in order.
    default_urls: list[t.Any] = dataclasses.field(default_factory=list)
    #: Whether init_app read the binds through this plan.
    applied: bool = False

    def expected(self, key: str | None) -> sa.URL:
        """Return the test database the engine of ``key`` must point at.

        :param key: a bind key (``None``: the default database).
        """
        if key is None:
            return self.main
        target = self.mirrors.get(key)
        if target is None:
            return bind_database_url(self.main, key)
        return self.main if target == _DEFAULT else self.expected(target)

    def test_binds(self, binds: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        """Return ``binds`` pointed at their test databases, and note the mirrors.

        :param binds: the app's ``SQLALCHEMY_BINDS``.
        """
        for key, value in binds.items():
            if key not in self.mirrors and self._is_default(_url_of(value)):
                self.mirrors[key] = _DEFAULT
        unknown = {
            target for target in self.mirrors.values() if target != _DEFAULT and target not in binds
        }
        if unknown:
            raise ConfigurationError(
                f"mirrors names {', '.join(sorted(map(repr, unknown)))} as a database to "
                f"mirror, but the app's databases are 'default' and "
                f"{', '.join(map(repr, binds)) or 'no bind'}. Name 'default' "
                "(SQLALCHEMY_DATABASE_URI) or one of the SQLALCHEMY_BINDS keys."
            )
        result: dict[str, t.Any] = {}
        for key, value in binds.items():
            rendered = self.expected(key).render_as_string(hide_password=False)
            result[key] = dict(value, url=rendered) if isinstance(value, dict) else rendered
        self.create_databases(binds)
        self.applied = True
        return result

    def test_engines(self, engines: t.Mapping[str, t.Any], is_async: bool) -> dict[str, t.Any]:
        """Return Flask-SQLAlchemy-Lite's named engines pointed at their test databases.

        ``"default"`` is the test database; every other name is a bind of
        that name (:meth:`test_binds`). An async engine keeps its own driver.

        :param engines: ``SQLALCHEMY_ENGINES`` or ``SQLALCHEMY_ASYNC_ENGINES``.
        :param is_async: they are the async ones.
        """
        named = {key: value for key, value in engines.items() if key != _DEFAULT}
        result = self.test_binds(named) if named else {}
        if _DEFAULT in engines:
            value = engines[_DEFAULT]
            url = self.main.render_as_string(hide_password=False)
            result[_DEFAULT] = dict(value, url=url) if isinstance(value, dict) else url
        if is_async:
            result = {key: _keep_driver(value, engines[key]) for key, value in result.items()}
        return {key: result[key] for key in engines}

    def create_databases(self, keys: t.Iterable[str]) -> None:
        """Create the test databases of the binds that mirror nothing.

        :param keys: the app's bind keys.
        """
        for key in keys:
            if key not in self.mirrors and self.create is not None:
                self.create(bind_database_url(self.main, key))

    def _is_default(self, value: t.Any) -> bool:
        """Tell whether a bind's URL is the default database's, in production or in test."""
        for url in (*self.default_urls, self.main):
            with contextlib.suppress(Exception):  # a value that is no URL mirrors nothing
                if value is not None and same_database(parse_url(value), parse_url(url)):
                    return True
        return False


def _keep_driver(value: t.Any, original: t.Any) -> t.Any:
    """Give a test database's URL the driver of the app's own (an async engine's)."""
    try:
        drivername = parse_url(_url_of(original)).drivername
    except Exception:  # not a URL: left for the engine to refuse
        return value
    url = parse_url(_url_of(value)).set(drivername=drivername)
    rendered = url.render_as_string(hide_password=False)
    return dict(value, url=rendered) if isinstance(value, dict) else rendered


def _url_of(value: t.Any) -> t.Any:
    """Return the URL of one ``SQLALCHEMY_BINDS`` value (a URL or an options dict)."""
    return value.get("url") if isinstance(value, dict) else value


class BindsConfig(Config):
    """``app.config`` while the factory runs under :func:`planning_binds`."""

    def __setitem__(self, key: str, value: t.Any) -> None:
        if key == "SQLALCHEMY_DATABASE_URI":
            _note_default(value)
        elif key in LITE_KEYS:
            value = self._merged(key, value)
        super().__setitem__(key, value)

    def update(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Update the config, noting the database URLs it is given.

        Flask-SQLAlchemy-Lite's engines are merged by name, so that the test
        config's ``"default"`` engine leaves the app's other named engines in place.

        :param args: as for :meth:`dict.update`.
        :param kwargs: as for :meth:`dict.update`.
        """
        values = dict(*args, **kwargs)
        if "SQLALCHEMY_DATABASE_URI" in values:
            _note_default(values["SQLALCHEMY_DATABASE_URI"])
        for key in LITE_KEYS:
            if key in values:
                values[key] = self._merged(key, values[key])
        super().update(values)

    def _merged(self, key: str, value: t.Any) -> t.Any:
        before = super().get(key)
        if isinstance(before, t.Mapping) and isinstance(value, t.Mapping):
            default = before.get(_DEFAULT)
            if default is not None:
                _note_default(_url_of(default))
            merged = dict(before)
            for name, given in value.items():  # a URL given keeps the engine's options
                options: t.Any = before.get(name)
                keep = isinstance(options, dict) and not isinstance(given, dict)
                merged[name] = dict(options, url=given) if keep else given
            return merged
        return value

    def get(self, key: str, default: t.Any = None) -> t.Any:
        """Return a setting; Flask-SQLAlchemy-Lite's engines come back on test databases.

        :param key: the setting.
        :param default: its value when it is not set.
        """
        value = super().get(key, default)
        plan = _PLAN.get()
        if key in LITE_KEYS and plan is not None and isinstance(value, t.Mapping) and value:
            value = plan.test_engines(value, is_async=key == LITE_KEYS[1])
            super().__setitem__(key, value)
        return value

    def setdefault(self, key: str, default: t.Any = None) -> t.Any:
        """Return a setting, setting it first; binds come back pointed at test databases.

        :param key: the setting.
        :param default: its value when it is not set.
        """
        value = super().setdefault(key, default)
        plan = _PLAN.get()
        if key == "SQLALCHEMY_BINDS" and plan is not None and value:
            value = plan.test_binds(value)
            super().__setitem__(key, value)
        return value


def _note_default(value: t.Any) -> None:
    plan = _PLAN.get()
    if plan is not None:
        plan.default_urls.append(value)


@contextlib.contextmanager
def planning_binds(plan: BindPlan) -> t.Iterator[None]:
    """Build the apps created in the block with a :class:`BindsConfig`.

    Apps whose class sets its own ``config_class`` are left alone; their
    binds are found afterwards (:func:`stray_binds`).

    :param plan: where the binds go.
    """
    token = _PLAN.set(plan)
    saved = Flask.config_class
    if saved is Config:
        Flask.config_class = BindsConfig
    try:
        yield
    finally:
        Flask.config_class = saved
        _PLAN.reset(token)


def settle_config(app: Flask) -> None:
    """Give the app's config its own class back once the factory returned.

    :param app: the app built under :func:`planning_binds`.
    """
    if type(app.config) is BindsConfig:
        t.cast(t.Any, app.config).__class__ = Config


def stray_binds(engines: t.Mapping[t.Any, sa.Engine], plan: BindPlan) -> bool:
    """Tell whether some bind still points at a database of the app's own.

    :param engines: the app's engines, by bind key (``None``: the main one).
    :param plan: where the binds go.
    """
    return any(
        key is not None and not same_database(engine.url, plan.expected(key))
        for key, engine in engines.items()
    )


def bind_test_databases(app: Flask, plan: BindPlan) -> dict[str, t.Any]:
    """Return SQLALCHEMY_BINDS with a test database (created if needed) for each key.

    For an app the factory built without :class:`BindsConfig`: it is built
    again with these.

    :param app: the app as its factory built it, with its own binds.
    :param plan: where the binds go.
    """
    return plan.test_binds(app.config.get("SQLALCHEMY_BINDS") or {})
