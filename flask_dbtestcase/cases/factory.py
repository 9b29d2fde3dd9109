"""Finding and calling the application factory of the project under test."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import sys
import types
import typing as t

import sqlalchemy
from flask import Flask

from ..errors import ConfigurationError
from .usercode import where

__all__ = [
    "Factory",
    "FactoryCall",
    "accepts_config",
    "call_factory",
    "factory_call",
    "factory_name",
    "from_object_advice",
    "from_object_reason",
    "missing_driver_advice",
    "resolve_factory",
]

Factory = t.Callable[..., Flask]


@dataclasses.dataclass(frozen=True)
class FactoryCall:
    """How :func:`call_factory` built an app: what a refusal later explains."""

    #: ``module:name`` of the factory.
    name: str
    #: The factory's own name (``create_app``), for the code a message shows.
    function: str
    #: The factory's module, for the code a message shows.
    module: str | None
    #: Whether the factory was given the test config (it takes an argument).
    passed_config: bool
    #: Whether the factory looked the mapping over as an object (``dir()``),
    #: as ``app.config.from_object(mapping)`` does.
    read_as_object: bool
    #: The import path of the config object (a class or a module) the
    #: factory loads by default, e.g. ``"config.Config"``.
    config_object: str | None


# Where call_factory keeps, in app.extensions, how it built the app.
_EXTENSION = "flask_dbtestcase.factory_call"


class _ConfigMapping(dict[str, t.Any]):
    """The test config handed to a factory: a dict that notices ``dir()``.

    ``app.config.from_object(mapping)`` reads ``dir(mapping)`` for UPPERCASE
    attributes, and a dict has none: its keys never arrive. Noticing the
    ``dir()`` lets the refusal that follows say so.
    """

    read_as_object = False

    def __dir__(self) -> t.Iterable[str]:
        self.read_as_object = True
        return super().__dir__()


def resolve_factory(spec: t.Any) -> Factory:
    """Turn a callable or a ``"module:callable"`` / ``"module"`` string into a callable.

    :param spec: the test class's ``app_factory``, or the project's default.
    """
    if spec is None:
        raise ConfigurationError(
            "No app factory is configured, so flask-dbtestcase does not know how to "
            "create your Flask app. Set 'app_factory = \"myapp:create_app\"' on your "
            "test class, or under [tool.flask-dbtestcase] in pyproject.toml, or set "
            "the FLASK_APP environment variable."
        )
    if isinstance(spec, staticmethod):  # not callable before Python 3.10
        spec = spec.__func__
    if not isinstance(spec, str):
        if callable(spec):
            return t.cast(Factory, spec)
        raise ConfigurationError(
            f"app_factory must be a callable or a 'module:callable' string, not {spec!r}."
        )
    module_name, _, attr = spec.strip().partition(":")
    if module_name.endswith(".py"):  # FLASK_APP=app.py, as Flask accepts it
        module_name = module_name[:-3].replace(os.sep, ".")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` and `flask` do
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ConfigurationError(
                f"Could not import the app factory module '{module_name}' (from "
                f"app_factory '{spec}'): {exc}. Run the tests from your project's "
                "root directory, or install the project into this environment "
                "(pip install -e .)."
            ) from None
        raise _import_failed(spec, exc) from None
    except Exception as exc:
        raise _import_failed(spec, exc) from None
    if attr:
        attr = attr.split("(", 1)[0].strip()  # "create_app()" as FLASK_APP allows
        obj = getattr(module, attr, None)
        if obj is None:
            raise ConfigurationError(
                f"Module '{module_name}' has no attribute '{attr}' (from app_factory "
                f"'{spec}'). Check the name of your application factory."
            )
    else:
        obj = getattr(module, "create_app", None) or getattr(module, "make_app", None)
        existing = _existing_app(module) if obj is None else None
        if existing is not None:
            raise ConfigurationError(_not_a_factory(f"{module_name}:{existing}", spec))
        if obj is None:
            raise ConfigurationError(
                f"Module '{module_name}' has no 'create_app' or 'make_app' factory. Name "
                'the factory explicitly: app_factory = "module:function".'
            )
    if isinstance(obj, Flask):
        raise ConfigurationError(_not_a_factory(spec, spec))
    if not callable(obj):
        raise ConfigurationError(f"'{spec}' is not callable, so it cannot be an app factory.")
    return t.cast(Factory, obj)


def _existing_app(module: types.ModuleType) -> str | None:
    """Return the name of the Flask app a module holds, as ``flask`` finds it.

    :param module: a module without a ``create_app`` or ``make_app``.
    """
    for name in ("app", "application"):
        if isinstance(getattr(module, name, None), Flask):
            return name
    found: dict[str, t.Any] = vars(module)
    return next((name for name, value in found.items() if isinstance(value, Flask)), None)


def _not_a_factory(found: str, spec: str) -> str:
    """Say that ``found`` is an app, not a factory, and what to write instead.

    :param found: ``module:attr`` of the Flask app.
    :param spec: the app_factory (or FLASK_APP) that led to it.
    """
    named = "" if found == spec else f" (found from app_factory or FLASK_APP '{spec}')"
    return (
        f"'{found}' is a Flask app that already exists, not an application factory"
        f"{named}. flask-dbtestcase must create the app itself so that it uses the "
        "test database: point app_factory at a function that creates the app and "
        "accepts a config mapping (the application factory pattern), e.g. "
        "def create_app(config=None): app = Flask(__name__), then "
        "app.config.update(config or {}), db.init_app(app), return app; and "
        f'app_factory = "{found.partition(":")[0]}:create_app".'
    )


def _import_failed(spec: str, exc: BaseException) -> ConfigurationError:
    advice = missing_driver_advice(exc) or (
        "Fix that error in your application code; "
        f'`python -c "import {spec.partition(":")[0]}"` shows the full traceback.'
    )
    return ConfigurationError(
        f"Importing the app factory '{spec}' failed with {type(exc).__name__}: {exc}"
        f"{where(exc)}. {advice}"
    )


#: The PostgreSQL drivers: what installs each, and the URL scheme of the other.
_DRIVERS = {
    "psycopg": ('"psycopg[binary]"', "psycopg (3)", "postgresql+psycopg2://", "psycopg2"),
    "psycopg2": ("psycopg2-binary", "psycopg2", "postgresql+psycopg://", "psycopg (3)"),
}


def missing_driver_advice(exc: BaseException) -> str | None:
    """Name the fix when ``exc`` comes from a PostgreSQL driver that is not installed.

    SQLAlchemy 2.1 reaches ``postgresql://`` URLs through psycopg (3), 2.0
    through psycopg2; flask-dbtestcase installs psycopg2 only, so an app
    whose own URL says ``postgresql://`` fails on SQLAlchemy 2.1 without
    psycopg. ``None`` when the error is something else.

    :param exc: an exception raised by the app's code (its causes are looked at too).
    """
    seen: set[int] = set()
    found: BaseException | None = exc
    while found is not None and id(found) not in seen:
        if isinstance(found, ModuleNotFoundError) and found.name in _DRIVERS:
            package, label, other_scheme, other = _DRIVERS[found.name]
            return (
                f"The app's database URL needs the {label} driver, which is not installed "
                f"(SQLAlchemy {sqlalchemy.__version__} uses it for postgresql:// URLs). "
                f"Install it (pip install {package}), or name the {other} driver in the "
                f"URL: {other_scheme}..."
            )
        seen.add(id(found))
        found = found.__cause__ or found.__context__
    return None


def factory_name(factory: Factory) -> str:
    """Return ``module:name`` of the factory, for messages.

    :param factory: the app factory.
    """
    module = getattr(factory, "__module__", None)
    name = getattr(factory, "__qualname__", None) or repr(factory)
    return f"{module}:{name}" if module else name


def accepts_config(factory: Factory) -> bool:
    """Tell whether the factory takes a positional argument (the config mapping).

    :param factory: the app factory.
    """
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params
    )


def call_factory(factory: Factory, config: t.Mapping[str, t.Any]) -> Flask:
    """Call the factory with the test config when it accepts one; check the result.

    :param factory: the app factory.
    :param config: the test configuration.
    """
    call = _describe(factory)
    mapping = _ConfigMapping(config)
    try:
        app = factory(mapping) if call.passed_config else factory()
    except Exception as exc:
        if mapping.read_as_object:
            raise ConfigurationError(
                f"The app never got the test configuration: {from_object_reason(call)}, "
                f"and without them the factory failed with {type(exc).__name__}: "
                f"{exc}{where(exc)}. {from_object_advice(call)}"
            ) from None
        advice = missing_driver_advice(exc) or (
            "It was called with the test configuration (TESTING, "
            "SQLALCHEMY_DATABASE_URI pointing at the test database, and your "
            "class's config); fix the factory so it can build the app with it."
        )
        raise ConfigurationError(
            f"The app factory '{call.name}' raised {type(exc).__name__}: {exc}{where(exc)}. "
            f"{advice}"
        ) from None
    if not isinstance(app, Flask):
        raise ConfigurationError(
            f"The app factory '{call.name}' returned {type(app).__name__}, not a Flask app. "
            "Make it end with 'return app'."
        )
    app.extensions[_EXTENSION] = dataclasses.replace(call, read_as_object=mapping.read_as_object)
    return app


def _describe(factory: Factory) -> FactoryCall:
    """Return what a message may need to know about the factory, before calling it.

    :param factory: the app factory.
    """
    return FactoryCall(
        name=factory_name(factory),
        function=str(getattr(factory, "__name__", "create_app")),
        module=getattr(factory, "__module__", None),
        passed_config=accepts_config(factory),
        read_as_object=False,
        config_object=_default_config_object(factory),
    )


def from_object_reason(call: FactoryCall) -> str:
    """Say that the factory gave the config mapping to ``app.config.from_object()``.

    :param call: how the factory was called.
    """
    return (
        f"the app factory '{call.name}' passed the config mapping to "
        "app.config.from_object(), which reads only the UPPERCASE attributes of an "
        "object, so the keys of a dict never arrive"
    )


def from_object_advice(call: FactoryCall) -> str:
    """Show the adapter a ``from_object`` factory needs: its settings and the mapping, as an object.

    The adapter loads the settings with ``flask.Config.from_object``, which
    takes what the factory takes (a class, a module or an import path), adds
    the mapping, and hands the factory an object whose attributes they are.

    :param call: how the factory was called.
    """
    imports = ["import types", "import flask"]
    if call.module:
        imports.append(f"from {call.module} import {call.function}")
    shown = "".join(f"'{line}', " for line in imports)
    path = call.config_object or "myapp.config.Config"
    unknown = (
        ""
        if call.config_object
        else f" (with the class, module or import path {call.function} loads by default)"
    )
    return (
        "Give flask-dbtestcase a factory that loads the settings the app factory loads, "
        "adds the mapping to them and hands the app factory the result as an object, "
        f"e.g. in tests/factory.py: {shown}then 'def create_test_app(config):' with the "
        "four lines 'settings = flask.Config(\".\")', "
        f"'settings.from_object(\"{path}\")'{unknown}, 'settings.update(config)' and "
        f"'return {call.function}(types.SimpleNamespace(**settings))'; and name it with "
        'app_factory = "tests.factory:create_test_app" under [tool.flask-dbtestcase] '
        "in pyproject.toml (or on the test class). It works whether the settings are "
        "a class, a module or an import path, as app.config.from_object() takes them."
    )


def factory_call(app: Flask) -> FactoryCall | None:
    """Return how :func:`call_factory` built ``app`` (``None``: it did not).

    :param app: an app.
    """
    call = app.extensions.get(_EXTENSION)
    return call if isinstance(call, FactoryCall) else None


def _default_config_object(factory: Factory) -> str | None:
    """Return the import path of the default of the factory's first parameter.

    ``create_app(config_class=Config)`` gives ``"config.Config"``;
    ``create_app(config_object="app.settings")`` gives ``"app.settings"``
    (a module or a class: ``from_object`` takes either); a module as the
    default gives its name.

    :param factory: the app factory.
    """
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return None
    default = params[0].default if params else inspect.Parameter.empty
    if isinstance(default, type):
        return f"{default.__module__}.{default.__qualname__}"
    if isinstance(default, types.ModuleType):
        return default.__name__
    if isinstance(default, str) and default.strip():
        return default.strip()
    return None
