"""A model whose module was imported after its tables were built: said in plain words.

``create_all`` creates the tables of the models imported when a class's
set-up builds the test database. A model imported later (its module first
imported inside a test, or by a later test module's import of it after
the build) has no table, and its first query fails with the driver's
``UndefinedTable``. An error handler on the app's engines
(:func:`explain_missing_tables`) looks only at that error: when the
relation it names is a table of the app's metadata that the build did not
see (:func:`~flask_dbtestcase.databases.schema.built_tables`), it raises a
:class:`~flask_dbtestcase.errors.ConfigurationError` that names the model,
its module, and what to do. Nothing runs for a statement that succeeds.
"""

from __future__ import annotations

import functools
import re
import typing as t
import weakref

import sqlalchemy as sa

from ..databases.schema import built_tables
from ..databases.watch import Marks
from ..errors import ConfigurationError
from ..isolation.statements import sqlstate
from .appkinds import AppDatabase

__all__ = ["explain_missing_tables", "missing_table_error"]

#: SQLSTATE undefined_table.
_UNDEFINED_TABLE = "42P01"
_RELATION = re.compile(r'relation "([^"]+)" does not exist')

#: The engines that have the handler already.
_HANDLED: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


def _model_of(table: sa.Table, extension: t.Any) -> str | None:
    """Name the model class mapped to ``table`` (``module.Class``), if the extension knows it."""
    registry = getattr(getattr(extension, "Model", None), "registry", None)
    for mapper in getattr(registry, "mappers", ()):
        if any(mapped is table for mapped in mapper.tables):
            return f"{mapper.class_.__module__}.{mapper.class_.__qualname__}"
    return None


def missing_table_error(
    exc: BaseException,
    url: sa.URL,
    metadatas: t.Iterable[sa.MetaData],
    marks: Marks,
    extension: t.Any = None,
) -> ConfigurationError | None:
    """Return the error that explains ``exc``, if it is a late model's missing table.

    :param exc: the driver's error.
    :param url: the database the statement ran on.
    :param metadatas: the app's tables on that database.
    :param marks: the run's marks (what the build saw).
    :param extension: the app's Flask-SQLAlchemy, to name the model class.
    """
    if sqlstate(exc) != _UNDEFINED_TABLE:
        return None
    match = _RELATION.search(str(exc))
    if match is None:
        return None
    name = match.group(1)
    for metadata in metadatas:
        table = next(
            (tb for tb in metadata.tables.values() if name in (tb.name, tb.fullname)), None
        )
        built = built_tables(url, metadata, marks) if table is not None else None
        if table is None or built is None or table.key in built:
            continue  # not a model's table, or built and dropped since: PostgreSQL's error says it
        model = _model_of(table, extension)
        what = (
            f"the model {model}" if model else f"the table {table.fullname!r} of the app's models"
        )
        module = f"its module {model.rsplit('.', 1)[0]}" if model else "its module"
        return ConfigurationError(
            f"The table {table.fullname!r} does not exist in the test database "
            f"{url.database!r}: {module} was imported after flask-dbtestcase built the test "
            f"database's tables, so create_all did not see {what}. Import the models before "
            "the tests' set-up: in the app factory or in the module that defines db (for "
            "example 'from . import models' before 'return app'), or at the top of the test "
            "module."
        )
    return None


def _handle(
    url: sa.URL,
    metadatas: list[sa.MetaData],
    marks: Marks,
    extension: t.Any,
    context: sa.engine.ExceptionContext,
) -> None:
    """SQLAlchemy's ``handle_error``: raise the explanation instead of the driver's error."""
    original = context.original_exception
    error = missing_table_error(original, url, metadatas, marks, extension)
    if error is not None:
        original.with_traceback(None)  # chained as a short cause: its message, no driver frames
        raise error


def explain_missing_tables(database: AppDatabase, marks: Marks) -> None:
    """Give each engine of the app the handler that explains a late model's missing table.

    :param database: the app's database layer.
    :param marks: the run's marks (what the build saw).
    """
    for engines, metadatas in database.schema():
        for key, engine in engines.items():
            if engine in _HANDLED or key not in metadatas:
                continue
            _HANDLED.add(engine)
            handler = functools.partial(
                _handle, engine.url, [metadatas[key]], marks, database.extension
            )
            sa.event.listen(engine, "handle_error", handler)
