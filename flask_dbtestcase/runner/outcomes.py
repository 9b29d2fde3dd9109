"""How the runner describes an error: its class, message and text, whether
it is a set-up error, and an error already formatted in a ``--parallel``
worker (:class:`RemoteError`)."""

from __future__ import annotations

import typing as t
import unittest
from types import TracebackType

from ..errors import DBTestCaseError, IsolationError
from .sqlcapture import SQLCapture

__all__ = [
    "ExcInfo",
    "OptExcInfo",
    "RemoteError",
    "ResultMixin",
    "exception_class",
    "exception_message",
    "exception_type",
    "is_setup_error",
]

#: ``sys.exc_info()`` of an error, as unittest hands it to a result.
ExcInfo = tuple[type[BaseException], BaseException, TracebackType]
#: What unittest's type stubs say a result may be handed.
OptExcInfo = t.Union[ExcInfo, tuple[None, None, None]]


class RemoteError(Exception):
    """Stand for an error already formatted elsewhere (a parallel worker).

    :param text: the formatted traceback.
    :param message: ``ExcType: first line of the message``.
    :param exc_type: the dotted name of the exception's class.
    :param setup_error: whether it is a set-up error (:func:`is_setup_error`,
        decided where the exception's class was at hand).
    """

    def __init__(self, text: str, message: str, exc_type: str, setup_error: bool = False) -> None:
        super().__init__(message)
        self.text = text
        self.message = message
        self.exc_type = exc_type
        self.setup_error = setup_error


def exception_class(err: OptExcInfo) -> type[BaseException]:
    """Return the class of the exception in ``err``.

    :param err: the ``sys.exc_info()`` of an error (unittest never hands a
        result ``(None, None, None)``).
    """
    return t.cast("type[BaseException]", err[0])


def exception_message(err: OptExcInfo) -> str:
    """Return ``ExcType: first line of the message``, for JUnit's message attribute.

    :param err: the ``sys.exc_info()`` of the error.
    """
    exc_type, value = err[0], err[1]
    if isinstance(value, RemoteError):
        return value.message
    text = str(value).strip()
    name = getattr(exc_type, "__name__", str(exc_type))
    return f"{name}: {text}" if text else name


def exception_type(err: OptExcInfo) -> str:
    """Return the dotted name of the exception's class (builtins without a module).

    :param err: the ``sys.exc_info()`` of the error.
    """
    if isinstance(err[1], RemoteError):
        return err[1].exc_type
    exc_type = exception_class(err)
    return (
        f"{exc_type.__module__}.{exc_type.__qualname__}"
        if exc_type.__module__ != "builtins"
        else exc_type.__qualname__
    )


def is_setup_error(err: OptExcInfo) -> bool:
    """Tell whether ``err`` is a set-up error: one flask-dbtestcase raised on
    purpose (a bad app factory, no database), not a test that failed.

    :param err: the ``sys.exc_info()`` of an error, or a worker's (``RemoteError``).
    """
    if isinstance(err[1], RemoteError):
        return err[1].setup_error
    cls: object = err[0]
    return (
        isinstance(cls, type)
        and issubclass(cls, DBTestCaseError)
        and not issubclass(cls, IsolationError)  # a test broke its own isolation
    )


class ResultMixin:
    """Format errors the same way in the local and the worker results."""

    sql_capture: SQLCapture | None = None

    def _exc_info_to_string(self, err: OptExcInfo, test: unittest.TestCase) -> str:
        value = err[1]
        if isinstance(value, RemoteError):
            return value.text
        if isinstance(value, DBTestCaseError):
            text = f"{type(value).__name__}: {value}\n"
            if getattr(self, "buffer", False):
                # Keep the captured output that the parent method would add.
                full: str = super()._exc_info_to_string(err, test)  # type: ignore[misc]
                marker = "\nStdout:\n" if "\nStdout:\n" in full else "\nStderr:\n"
                if marker in full:
                    text += full[full.index(marker) :]
        else:
            text = super()._exc_info_to_string(err, test)  # type: ignore[misc]
        if self.sql_capture is not None and self.sql_capture.buffer:
            text += "\nSQL executed during the test:\n" + "\n".join(self.sql_capture.buffer) + "\n"
        return text

    def _start_sql(self) -> None:
        if self.sql_capture is not None:
            self.sql_capture.buffer = []

    def _stop_sql(self) -> None:
        if self.sql_capture is not None:
            self.sql_capture.buffer = None
