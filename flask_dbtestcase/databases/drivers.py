"""The PostgreSQL driver of the run: psycopg (3) or psycopg2, the one production uses.

The ``driver`` setting (``FLASK_DBTESTCASE_DRIVER`` or ``[tool.flask-dbtestcase]
driver``) names it. By default it is the driver SQLAlchemy itself loads for a
plain ``postgresql://`` URL (psycopg 3 from SQLAlchemy 2.1 on, psycopg2
before) when that is installed, else the other one. The choice is made once,
at the edge (:func:`choose_driver`); every URL the framework hands out names
it (``postgresql+psycopg://``), and the framework's own connections to a
database (creating and dropping databases, cancelling queries) use the
driver the URL names (:func:`url_driver`), so a project with only one of the
two installed never needs the other.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import sys
import types

from sqlalchemy.engine import URL

from ..errors import ConfigurationError
from ..variables import DRIVER_ENV

__all__ = [
    "DRIVERS",
    "DriverChoice",
    "choose_driver",
    "driver_module",
    "sqlalchemy_default_driver",
    "url_driver",
]

#: The drivers flask-dbtestcase supports, and the package that installs each.
DRIVERS: dict[str, str] = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary"}

_WHERE = f"{DRIVER_ENV} or [tool.flask-dbtestcase] driver"
_SETTING = f"the driver setting ({_WHERE})"


@dataclasses.dataclass(frozen=True)
class DriverChoice:
    """The driver of the run, and why it is that one.

    :param name: ``"psycopg"`` or ``"psycopg2"``: the module, and SQLAlchemy's
        driver name (``postgresql+<name>://``).
    :param reason: why, in words, for the run's header.
    """

    name: str
    reason: str

    @property
    def module(self) -> types.ModuleType:
        """The driver's module (imported: the choice made sure it imports)."""
        return driver_module(self.name)

    def describe(self) -> str:
        """Return the run's header line: which driver, and why."""
        version = str(getattr(self.module, "__version__", "")).split(" ")[0]
        return f"PostgreSQL driver: {self.name} {version} ({self.reason})."


def sqlalchemy_default_driver() -> str:
    """Return the driver SQLAlchemy loads for a plain ``postgresql://`` URL."""
    from sqlalchemy.engine import make_url

    return str(make_url("postgresql://").get_dialect().driver)


@functools.cache
def _import_error(name: str) -> str | None:
    """Import a driver; return why it cannot be imported, or None when it can."""
    try:
        for module in (name, f"{name}.errors", f"{name}.sql"):
            importlib.import_module(module)
    except ImportError as exc:
        return str(exc) or type(exc).__name__
    return None


def driver_module(name: str) -> types.ModuleType:
    """Return the module of the driver ``name``, or say what to install.

    :param name: ``"psycopg"`` or ``"psycopg2"``.
    """
    error = _import_error(name)
    if error is not None:
        raise ConfigurationError(_missing(name, error, f"flask-dbtestcase uses {name}"))
    return importlib.import_module(name)


def _missing(name: str, error: str, why: str) -> str:
    return (
        f"{why}, but it cannot be imported in this Python environment "
        f"({sys.executable}): {error}. Install it with: {_install(name)}."
    )


def _install(name: str) -> str:
    extra = " (or pip install 'flask-dbtestcase[psycopg]')" if name == "psycopg" else ""
    return f"pip install '{DRIVERS[name]}'{extra}"


@functools.lru_cache(maxsize=8)
def choose_driver(asked: str | None = None) -> DriverChoice:
    """Decide the run's driver: the one asked for, else SQLAlchemy's, else the other.

    Raises :class:`ConfigurationError`, naming the package to install, when
    the driver asked for cannot be imported, or neither can.

    :param asked: the ``driver`` setting's value (None: not set).
    """
    setting = _SETTING[0].upper() + _SETTING[1:]
    if asked is not None:
        name = asked.strip().lower()
        if name not in DRIVERS:
            raise ConfigurationError(
                f"{setting} is {asked!r}, which is not a PostgreSQL driver "
                "flask-dbtestcase supports: use 'psycopg' (psycopg 3) or 'psycopg2'."
            )
        error = _import_error(name)
        if error is not None:
            raise ConfigurationError(_missing(name, error, f"{setting} asks for {name}"))
        return DriverChoice(name, f"set by {_WHERE}")
    import sqlalchemy

    default = sqlalchemy_default_driver()
    by = f"SQLAlchemy {sqlalchemy.__version__}"
    if default in DRIVERS and _import_error(default) is None:
        return DriverChoice(default, f"{by} uses it for postgresql:// URLs")
    for other in DRIVERS:
        if other != default and _import_error(other) is None:
            return DriverChoice(
                other, f"{by} uses {default} for postgresql:// URLs, which is not installed"
            )
    wanted = default if default in DRIVERS else "psycopg"
    raise ConfigurationError(
        "No PostgreSQL driver is installed in this Python environment "
        f"({sys.executable}): flask-dbtestcase needs psycopg (3) or psycopg2, and "
        f"{by} uses {default} for postgresql:// URLs. Install it with: {_install(wanted)}."
    )


def url_driver(url: URL) -> types.ModuleType:
    """Return the module of the driver ``url`` names (``postgresql+psycopg://``: psycopg).

    :param url: a database URL naming a supported driver.
    """
    return driver_module(url.get_driver_name())
