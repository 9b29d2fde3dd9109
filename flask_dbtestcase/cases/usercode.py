"""Where in the project's own code an exception was raised, for messages
that point the user at their line rather than at a dependency's."""

from __future__ import annotations

import functools
import sysconfig
from pathlib import Path

__all__ = ["where"]


def where(exc: BaseException) -> str:
    """Return `` (at file:line)`` of the innermost frame of the user's own code.

    Frames of the standard library (``<frozen os>`` included), of installed
    packages and of flask-dbtestcase itself are skipped: a ``KeyError`` from
    ``os.environ[...]`` is reported at the line that read the variable. When
    no frame is the user's (a project installed into site-packages), the
    innermost frame with a real file and not of flask-dbtestcase is named.

    :param exc: the exception the user's code raised.
    """
    tb = exc.__traceback__
    user = fallback = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if _is_user_code(filename):
            user = (filename, tb.tb_lineno)
        elif not filename.startswith("<") and not _is_ours(filename):
            fallback = (filename, tb.tb_lineno)
        tb = tb.tb_next
    found = user or fallback
    if found is None:
        return ""
    return f" (at {found[0]}:{found[1]})"


_PACKAGE_DIR = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=1)
def _not_user_dirs() -> tuple[Path, ...]:
    """Return the standard library's and the installed packages' directories."""
    paths = sysconfig.get_paths()
    found = {
        Path(paths[name]).resolve()
        for name in ("stdlib", "platstdlib", "purelib", "platlib")
        if name in paths
    }
    return (*found, _PACKAGE_DIR)


def _is_ours(filename: str) -> bool:
    """Tell whether ``filename`` is a module of flask-dbtestcase.

    :param filename: a code object's ``co_filename``.
    """
    return Path(filename).resolve().is_relative_to(_PACKAGE_DIR)


def _is_user_code(filename: str) -> bool:
    """Tell whether ``filename`` is the project's code, not Python's or a package's.

    :param filename: a code object's ``co_filename``.
    """
    if filename.startswith("<"):  # <frozen os>, <string>
        return False
    path = Path(filename).resolve()
    if "site-packages" in path.parts or "dist-packages" in path.parts:
        return False
    return not any(path.is_relative_to(base) for base in _not_user_dirs())
