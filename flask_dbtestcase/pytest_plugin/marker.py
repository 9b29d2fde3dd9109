"""The ``flask_db`` marker's arguments, read and checked as pytest-django reads ``django_db``'s.

``@pytest.mark.flask_db(transaction=False, reset_sequences=False,
databases=None, serialized_rollback=False)``: the same arguments, in the same
order, as pytest-django's marker. An unknown argument or a value of the
wrong type is refused (pytest-django raises ``TypeError``); here the
refusal is one paragraph that names the mistake, given when the test is set
up. Whether the names of ``databases`` are databases of the app is checked
once the app is known (:func:`check_databases`).
"""

from __future__ import annotations

import dataclasses
import inspect
import typing as t

import pytest

from ..errors import ConfigurationError

__all__ = [
    "ARGUMENTS",
    "MARKER",
    "MarkerArgs",
    "MarkerError",
    "check_databases",
    "marker_call",
    "read_marker",
]

#: The marker: ``@pytest.mark.flask_db`` / ``@pytest.mark.flask_db(transaction=True)``.
MARKER = "flask_db"
#: The marker's arguments, in pytest-django's order (positional arguments follow it).
ARGUMENTS = ("transaction", "reset_sequences", "databases", "serialized_rollback")
_BOOLEANS = ("transaction", "reset_sequences", "serialized_rollback")
#: What ``databases`` names the app's main database by.
_DEFAULT = "default"


class MarkerError(TypeError):
    """The ``flask_db`` marker was given an argument it does not take, or a bad value."""


@dataclasses.dataclass(frozen=True)
class MarkerArgs:
    """The marker's arguments, checked.

    :param transaction: the test really commits (as ``transactional_db``).
    :param reset_sequences: the sequences are reset before the test (a
        transactional test: its tables are emptied and their sequences reset).
    :param databases: the databases the test may use, by name (``"default"``,
        the bind keys); ``None``: all of them.
    :param serialized_rollback: after a transactional test, what the
        migrations seeded is put back.
    """

    transaction: bool = False
    reset_sequences: bool = False
    databases: tuple[str, ...] | None = None
    serialized_rollback: bool = False

    @property
    def transactional(self) -> bool:
        """Whether the test really commits: ``transaction``, or ``reset_sequences``."""
        return self.transaction or self.reset_sequences


def _signature(
    transaction: bool = False,
    reset_sequences: bool = False,
    databases: t.Any = None,
    serialized_rollback: bool = False,
) -> None:
    """The marker's signature, as pytest-django's ``django_db`` has it."""


def marker_call(mark: pytest.Mark) -> str:
    """Return the marker as the test wrote it: ``@pytest.mark.flask_db(transaction=True)``.

    :param mark: the test's ``flask_db`` marker.
    """
    parts = [repr(arg) for arg in mark.args]
    parts += [f"{name}={value!r}" for name, value in mark.kwargs.items()]
    arguments = f"({', '.join(parts)})" if parts else ""
    return f"@pytest.mark.{MARKER}{arguments}"


def read_marker(mark: pytest.Mark) -> MarkerArgs:
    """Return the marker's arguments, checked; raise :class:`MarkerError` for a mistake.

    :param mark: the test's ``flask_db`` marker.
    """
    call = marker_call(mark)
    unknown = [name for name in mark.kwargs if name not in ARGUMENTS]
    if unknown:
        raise MarkerError(_unknown_message(call, unknown[0]))
    try:
        bound = inspect.signature(_signature).bind(*mark.args, **mark.kwargs)
    except TypeError as exc:  # too many positional arguments, one given twice
        raise MarkerError(
            f"{call}: {exc}. It takes {_listed(ARGUMENTS)}, in that order or by name, as "
            "pytest-django's django_db marker does."
        ) from None
    values = dict(bound.arguments)
    for name in _BOOLEANS:
        value = values.get(name, False)
        if not isinstance(value, bool):
            raise MarkerError(f"{call}: {name} must be True or False, not {value!r}.")
    return MarkerArgs(
        transaction=values.get("transaction", False),
        reset_sequences=values.get("reset_sequences", False),
        databases=_databases(call, values.get("databases")),
        serialized_rollback=values.get("serialized_rollback", False),
    )


def _databases(call: str, value: t.Any) -> tuple[str, ...] | None:
    """``databases``: None or ``"__all__"`` (all), a name, or a collection of names."""
    if value is None or value == "__all__":
        return None
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, (list, tuple, set, frozenset)) or not all(
        isinstance(name, str) for name in names
    ):
        raise MarkerError(
            f"{call}: databases must be '__all__' or a list of database names "
            f"('{_DEFAULT}' for SQLALCHEMY_DATABASE_URI, the others SQLALCHEMY_BINDS "
            f"keys), not {value!r}."
        )
    if not names:
        raise MarkerError(
            f"{call}: databases names no database. Give the databases the test uses "
            f"(['{_DEFAULT}'] for SQLALCHEMY_DATABASE_URI), or leave the marker off a "
            "test that uses none."
        )
    return tuple(sorted(set(names)))


def _unknown_message(call: str, name: str) -> str:
    import difflib  # only for a mistake: the plugin's import stays light

    close = difflib.get_close_matches(name, ARGUMENTS, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return (
        f"{call}: {MARKER} has no argument '{name}'{hint}. It takes "
        f"{_listed(ARGUMENTS)}, as pytest-django's django_db marker does."
    )


def _listed(names: t.Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"


def check_databases(call: str, databases: t.Collection[str], bind_keys: t.Iterable[t.Any]) -> None:
    """Check that the marker's ``databases`` are databases of the app.

    :param call: the marker, as :func:`marker_call` gives it.
    :param databases: the names the marker gives.
    :param bind_keys: the app's engines' bind keys (``None``: the main database).
    :raises ConfigurationError: a name is not one of the app's databases.
    """
    names = sorted(_DEFAULT if key is None else str(key) for key in bind_keys)
    unknown = sorted(set(databases) - set(names))
    if unknown:
        raise ConfigurationError(
            f"{call} names {_listed([repr(name) for name in unknown])}, which "
            f"{'is not a database' if len(unknown) == 1 else 'are not databases'} of the "
            f"app: its databases are {_listed([repr(name) for name in names])} "
            f"('{_DEFAULT}' is SQLALCHEMY_DATABASE_URI, the others are SQLALCHEMY_BINDS "
            "keys). Fix the name, or add the bind to the app's SQLALCHEMY_BINDS."
        )
