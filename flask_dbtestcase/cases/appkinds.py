"""The three kinds of app, as the test classes see them: their engines, schema and session.

- **Flask-SQLAlchemy**: the extension in ``app.extensions["sqlalchemy"]`` (or
  the class's ``db``), its engines by bind key, ``db.metadatas``, ``db.session``.
  Further Flask-SQLAlchemy instances the app keeps under other keys of
  ``app.extensions`` are found too: their engines are checked and their
  tables built.
- **Flask-SQLAlchemy-Lite**: its engines by name (``SQLALCHEMY_ENGINES``,
  ``"default"`` being the main database), its async engines, ``db.session``
  (one per app context); its models' metadata is the ``metadata`` setting.
- **Plain SQLAlchemy**: the app's own ``scoped_session`` (the ``session``
  setting, or the one it keeps in ``app.extensions``), whose bind is its
  engine; the ``metadata`` setting; and the config key it reads its URL
  from (``database_url_key``).

Whatever the kind, :class:`AppDatabase` gives the rest of the package one
shape: engines by key (``None``: the main database), metadata by the same
keys, and a session with ``scoped_session``'s surface (called, it is the
current app context's session; ``remove()``; ``registry.has()``).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import typing as t
import weakref

import sqlalchemy as sa
from flask import Flask, g, has_app_context
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import scoped_session

from ..errors import ConfigurationError
from ..settings import Settings

__all__ = [
    "EXTENSION_KEY",
    "FLASK_SQLALCHEMY",
    "LITE",
    "PLAIN",
    "AppDatabase",
    "PlainSettings",
    "app_database",
    "plain_settings",
    "find_app_database",
    "lite_extension",
    "resolve_object",
]

FLASK_SQLALCHEMY = "Flask-SQLAlchemy"
LITE = "Flask-SQLAlchemy-Lite"
PLAIN = "SQLAlchemy"

#: Where the test classes keep an app's AppDatabase (read by the clients' wrapping).
EXTENSION_KEY = "flask_dbtestcase.database"


@dataclasses.dataclass(frozen=True)
class PlainSettings:
    """What a test class says of an app that is not a Flask-SQLAlchemy app.

    :param metadata: the schema: a MetaData (or a model base), a
        ``"module:Base.metadata"`` string, or a mapping of engine names to those.
    :param session: the app's ``scoped_session``, or a ``"module:Session"`` string.
    :param database_url_key: the config key the app reads its database URL from.
    """

    metadata: t.Any = None
    session: t.Any = None
    database_url_key: str | None = None


@dataclasses.dataclass(eq=False)
class AppDatabase:
    """An app's database layer, whatever the kind of app.

    :param kind: ``"Flask-SQLAlchemy"``, ``"Flask-SQLAlchemy-Lite"`` or ``"SQLAlchemy"``.
    :param extension: the app's extension (the test class's ``db``); None for a plain app.
    :param engines: the engines of the main extension (or the plain app's), by
        key: ``None`` for the main database, a bind key or an engine's name.
    :param metadatas: the tables of each of those databases, by the same keys.
    :param session: the app's session, with ``scoped_session``'s surface.
    """

    kind: str
    extension: t.Any
    engines: dict[t.Any, sa.Engine]
    metadatas: dict[t.Any, sa.MetaData]
    session: t.Any
    #: Further Flask-SQLAlchemy instances' engines and tables, by bind key, each.
    others: list[tuple[dict[t.Any, sa.Engine], dict[t.Any, sa.MetaData]]] = dataclasses.field(
        default_factory=list
    )
    #: The async engines (Flask-SQLAlchemy-Lite's SQLALCHEMY_ASYNC_ENGINES), by name.
    async_engines: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    #: Engines the app keeps in ``app.extensions`` itself, by key there.
    loose: dict[str, sa.Engine] = dataclasses.field(default_factory=dict)

    def current_session(self) -> t.Any:
        """Return the session the test sees: the app's, in the current app context."""
        if self.kind == LITE:
            return self.extension.session
        return self.session

    def all_engines(self) -> list[sa.Engine]:
        """Every engine the app's extensions name, each once."""
        found = list(self.engines.values())
        for engines, _ in self.others:
            found += engines.values()
        found += self.loose.values()
        return list({id(engine): engine for engine in found}.values())

    def schema(self) -> list[tuple[dict[t.Any, sa.Engine], dict[t.Any, sa.MetaData]]]:
        """The engines and tables of each instance: the main one first."""
        return [(self.engines, self.metadatas), *self.others]

    def has_deferrable_constraints(self) -> bool:
        """Tell whether some table has a deferrable constraint (checked before each rollback)."""
        return any(
            getattr(constraint, "deferrable", None)
            for _, metadatas in self.schema()
            for metadata in metadatas.values()
            for table in metadata.tables.values()
            for constraint in table.constraints
        )


class _LiteSession:
    """Flask-SQLAlchemy-Lite's ``db.session`` with ``scoped_session``'s surface.

    :param extension: the Lite extension.
    """

    def __init__(self, extension: t.Any) -> None:
        self._extension = extension
        self.registry = self

    def __call__(self) -> t.Any:
        return self._extension.session

    def has(self) -> bool:
        """Tell whether the current app context has a session already."""
        return has_app_context() and "default" in g.get("_sqlalchemy_sessions", {})

    def remove(self) -> None:
        """Close the current app context's session and forget it, as its teardown does."""
        if has_app_context():
            session = g.get("_sqlalchemy_sessions", {}).pop("default", None)
            if session is not None:
                session.close()

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._extension.session, name)


def plain_settings(
    settings: Settings, metadata: t.Any, database_url_key: str | None
) -> PlainSettings:
    """Return what a test class and the settings say of an app without Flask-SQLAlchemy.

    :param settings: the run's settings.
    :param metadata: the class's ``metadata`` (it wins over the setting).
    :param database_url_key: the class's ``database_url_key`` (it wins over the setting).
    """
    return PlainSettings(
        metadata if metadata is not None else settings.metadata,
        settings.session,
        database_url_key or settings.database_url_key,
    )


def app_database(app: Flask) -> AppDatabase:
    """Return the database layer the test classes found for ``app`` (an app they built).

    :param app: an app built for the tests.
    """
    found = app.extensions.get(EXTENSION_KEY)
    assert isinstance(found, AppDatabase), "not an app built for the tests"
    return found


#: The name of each Flask-SQLAlchemy-Lite engine of the apps built so far.
_LITE_NAMES: weakref.WeakKeyDictionary[sa.Engine, str] = weakref.WeakKeyDictionary()


def _own_binds(extension: t.Any) -> None:
    """Give the current app's Lite session its own engines in ``binds``.

    Flask-SQLAlchemy-Lite (0.2.1) resolves the engine names of
    ``session_options["binds"]`` in place, in the dict all its apps share:
    every app built after the first would bind those models to the first
    app's engines (another test database, never pinned). The current app's
    sessionmaker gets a copy naming its own engines.
    """
    engines = extension.engines
    for name, engine in engines.items():
        _LITE_NAMES[engine] = name
    kw = extension.sessionmaker.kw
    binds = kw.get("binds")
    if not binds:
        return
    own = set(map(id, engines.values()))
    fixed = {
        target: engines.get(_LITE_NAMES.get(bind, ""), bind)
        if isinstance(bind, sa.Engine) and id(bind) not in own
        else bind
        for target, bind in binds.items()
    }
    if fixed != binds:
        kw["binds"] = fixed


def _skip_idle_async_teardown(app: Flask) -> None:
    """Run Lite's async teardown only in an app context that has async sessions.

    Flask runs the coroutine ``_close_async_sessions`` through
    ``async_to_sync`` at the end of every app context, whether or not it
    has an async session to close: about 2 ms, for each request and for
    each test's own app context. The same function runs, the same way, when
    there is one; when there is none it had nothing to do.
    """
    funcs = app.teardown_appcontext_funcs
    for index, func in enumerate(funcs):
        if getattr(func, "__name__", "") == "_close_async_sessions" and str(
            getattr(func, "__module__", "")
        ).startswith("flask_sqlalchemy_lite"):
            funcs[index] = functools.partial(_close_async_sessions, app, func)


def _close_async_sessions(app: Flask, original: t.Any, exc: BaseException | None) -> None:
    if g.get("_sqlalchemy_async_sessions") is not None:
        app.ensure_sync(original)(exc)


def lite_extension(value: object) -> bool:
    """Tell whether ``value`` is a Flask-SQLAlchemy-Lite extension (it need not be installed).

    :param value: an ``app.extensions`` value.
    """
    cls = type(value)
    return cls.__name__ == "SQLAlchemy" and cls.__module__.startswith("flask_sqlalchemy_lite")


def resolve_object(spec: t.Any, what: str) -> t.Any:
    """Return the object a ``"module:attribute.path"`` string names (anything else as it is).

    :param spec: the string, or the object itself.
    :param what: the setting, for the message (``"metadata"``).
    """
    if not isinstance(spec, str):
        return spec
    module_name, _, path = spec.strip().partition(":")
    try:
        value: t.Any = importlib.import_module(module_name)
        for name in filter(None, path.split(".")):
            value = getattr(value, name)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(
            f"{what} = {spec!r} names nothing flask-dbtestcase can import ({exc}). "
            f'Give it as "module:attribute", for example "myapp.models:Base.metadata", '
            "importable from the directory you run the tests in."
        ) from None
    return value


def _metadata(spec: t.Any, owner: str) -> sa.MetaData:
    value = resolve_object(spec, "metadata")
    value = getattr(value, "metadata", value)  # a declarative base, a Table's owner
    if not isinstance(value, sa.MetaData):
        raise ConfigurationError(
            f"metadata for {owner} is {value!r}, not a SQLAlchemy MetaData. Give the "
            'MetaData your models use, e.g. metadata = "myapp.models:Base.metadata".'
        )
    return value


def _metadatas(spec: t.Any, keys: t.Iterable[t.Any], owner: str) -> dict[t.Any, sa.MetaData]:
    """The ``metadata`` setting, by engine key (a mapping names them: ``"default"``, ...)."""
    if spec is None:
        return {}
    if isinstance(spec, t.Mapping):
        known = set(keys)
        result = {}
        for name, value in spec.items():
            key = None if name == "default" else name
            if key not in known:
                raise ConfigurationError(
                    f"metadata for {owner} names the engine {name!r}, but the app's engines "
                    f"are {', '.join(repr('default' if k is None else k) for k in known)}."
                )
            result[key] = _metadata(value, owner)
        return result
    return {None: _metadata(spec, owner)}


def _no_extension(owner: str) -> str:
    return (
        f"The app built for {owner} has no Flask-SQLAlchemy extension, and nothing "
        "names its own SQLAlchemy set-up. Did you forget to call 'db.init_app(app)' in "
        "the app factory? (Or set 'db = ...' on the test class.) An app on "
        "Flask-SQLAlchemy-Lite needs the 'metadata' setting; an app on plain SQLAlchemy "
        "needs 'database_url_key', 'metadata' and its scoped session ('session' under "
        "[tool.flask-dbtestcase], or kept in app.extensions)."
    )


def _found_session(app: Flask, spec: t.Any, owner: str) -> t.Any:
    if spec is None:
        found = [v for v in app.extensions.values() if isinstance(v, scoped_session)]
        return found[0] if found else None
    session = resolve_object(spec, "session")
    if not isinstance(session, scoped_session):
        raise ConfigurationError(
            f"session for {owner} is {session!r}, not a scoped_session. Name the app's "
            "scoped_session(sessionmaker(...)), the one its teardown_appcontext removes: "
            'session = "myapp.db:Session".'
        )
    return session


def _session_engines(session: t.Any) -> dict[t.Any, sa.Engine]:
    """The engines a plain app's session factory is bound to (``None``: its ``bind``)."""
    kw = getattr(getattr(session, "session_factory", None), "kw", {})
    engines: dict[t.Any, sa.Engine] = {}
    if isinstance(kw.get("bind"), sa.Engine):
        engines[None] = kw["bind"]
    for target, bind in (kw.get("binds") or {}).items():
        if isinstance(bind, sa.Engine) and bind not in engines.values():
            engines[getattr(target, "__name__", str(target))] = bind
    return engines


def find_app_database(
    app: Flask, given: t.Any, owner: str, plain: PlainSettings | None = None
) -> AppDatabase:
    """Find the app's database layer (inside one of its app contexts).

    :param app: the app built for the test class.
    :param given: the test class's own ``db``, if it sets one.
    :param owner: the test class's name, for the messages.
    :param plain: what the settings say of an app that is not a Flask-SQLAlchemy app.
    """
    plain = plain or PlainSettings()
    main = given if given is not None else app.extensions.get("sqlalchemy")
    others: list[tuple[dict[t.Any, sa.Engine], dict[t.Any, sa.MetaData]]] = []
    loose: dict[str, sa.Engine] = {}
    for name, value in app.extensions.items():
        if isinstance(value, SQLAlchemy) and value is not main:
            others.append((dict(value.engines), dict(value.metadatas)))
        elif isinstance(value, sa.Engine):
            loose[name] = value
    if isinstance(main, SQLAlchemy):
        return AppDatabase(
            FLASK_SQLALCHEMY, main, dict(main.engines), dict(main.metadatas), main.session,
            others, loose=loose,
        )  # fmt: skip
    if main is not None and lite_extension(main):
        _own_binds(main)
        _skip_idle_async_teardown(app)
        engines = {(None if k == "default" else k): e for k, e in main.engines.items()}
        return AppDatabase(
            LITE, main, engines, _metadatas(plain.metadata, engines, owner), _LiteSession(main),
            others, dict(main.async_engines), loose,
        )  # fmt: skip
    session = _found_session(app, plain.session, owner)
    if session is None and not (plain.database_url_key or plain.metadata):
        raise ConfigurationError(_no_extension(owner))
    if session is None:
        raise ConfigurationError(
            f"The app built for {owner} is a plain SQLAlchemy app (no Flask-SQLAlchemy "
            "extension), but flask-dbtestcase cannot find its session. Name its "
            'scoped_session: session = "myapp.db:Session" under [tool.flask-dbtestcase] '
            'in pyproject.toml, or keep it in app.extensions (app.extensions["session"] '
            "= Session) in the app factory."
        )
    engines = _session_engines(session)
    return AppDatabase(
        PLAIN, None, engines, _metadatas(plain.metadata, [None, *engines], owner), session,
        others, loose=loose,
    )  # fmt: skip
