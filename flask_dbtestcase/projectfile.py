"""Reading ``[tool.flask-dbtestcase]`` from the project's ``pyproject.toml``.

The nearest ``pyproject.toml`` at or above a directory that has the table
is the project's; a table under a misspelt name is not read but reported
(:func:`~flask_dbtestcase.settings.ignored_settings` says so). A file that
cannot be read stops the run with one paragraph: silently ignoring it would
ignore the settings the user wrote there.
"""

from __future__ import annotations

import functools
import importlib
import sys
import types
import typing as t
from pathlib import Path

from .errors import ConfigurationError

__all__ = ["MISSPELT", "TABLE", "read_pyproject"]


@functools.lru_cache(maxsize=8)
def read_pyproject(start: str) -> dict[str, t.Any]:
    """Return ``[tool.flask-dbtestcase]`` of the nearest pyproject.toml at or above ``start``.

    The table's own path is under ``"_path"``; ``{}`` when there is none. A
    table under a misspelt name (``[tool.flask_dbtestcase]``) is not read:
    its file's path is returned with the name under ``"_misspelt"``, for
    :func:`ignored_settings` to say so. A pyproject.toml that cannot be read
    (malformed, or no TOML parser on Python < 3.11) raises
    :class:`ConfigurationError`: silently ignoring it would ignore the
    settings the user wrote there.

    :param start: an absolute directory.
    """
    here = Path(start)
    for directory in (here, *here.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            tools = _read_toml(candidate).get("tool", {})
            table = tools.get(TABLE)
            if table is not None:
                return dict(table, _path=str(candidate))
            misspelt = next((name for name in MISSPELT if name in tools), None)
            if misspelt is not None:  # read nothing from it, but say so (ignored_settings)
                return {"_path": str(candidate), "_misspelt": misspelt}
    return {}


#: The name of the settings table, under ``[tool]``.
TABLE = "flask-dbtestcase"
#: Spellings of the table that are not read, but are named by a warning.
MISSPELT = ("flask_dbtestcase", "flaskdbtestcase", "flask-db-testcase", "flask_db_testcase")


def _toml_parser() -> types.ModuleType | None:
    """Return ``tomllib`` (Python 3.11+) or ``tomli``, whichever imports; ``None`` if neither."""
    for name in ("tomllib", "tomli"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def _read_toml(path: Path) -> dict[str, t.Any]:
    """Parse ``path``, or say in plain words why it cannot be read.

    A file that never names ``flask-dbtestcase`` holds no settings of ours:
    it is not parsed (``tomllib``'s import and parse cost a run ~5 ms).

    :param path: a pyproject.toml that exists.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"flask-dbtestcase cannot read its settings ([tool.flask-dbtestcase]) from "
            f"{path}: {exc.strerror or exc}. Make the file readable by this user."
        ) from None
    if not any(name.encode() in raw for name in (TABLE, *MISSPELT)):
        return {}
    parser = _toml_parser()
    if parser is None:
        version = ".".join(map(str, sys.version_info[:2]))
        raise ConfigurationError(
            f"flask-dbtestcase cannot read its settings ([tool.flask-dbtestcase]) from "
            f"{path}: this Python ({version}) has no TOML parser. Python 3.11 and later "
            "come with one (tomllib); on older versions flask-dbtestcase needs the tomli "
            "package, which it depends on but which is missing from this environment. "
            "Install it (pip install tomli), or reinstall flask-dbtestcase with its "
            "dependencies."
        )
    try:
        data: dict[str, t.Any] = parser.loads(raw.decode())
    except ValueError as exc:  # TOMLDecodeError (tomllib's and tomli's), UnicodeDecodeError
        raise ConfigurationError(
            f"flask-dbtestcase cannot read its settings ([tool.flask-dbtestcase]) from "
            f"{path}: the file is not valid TOML ({exc}). Fix the file at the line "
            "named: until it parses, none of the settings in it can be used."
        ) from None
    return data
