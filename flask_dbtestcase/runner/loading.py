"""Test labels to tests, as ``python -m unittest`` and Django take them: a
directory (discovered), a ``.py`` file, a dotted package (discovered) or a
dotted module, class or method name."""

from __future__ import annotations

import importlib.util
import os
import re
import typing as t
import unittest

from ..errors import ConfigurationError

__all__ = [
    "explain_import_errors",
    "load_tests_for_label",
    "module_name_for_path",
    "no_tests_hint",
    "top_level_for",
]


def top_level_for(directory: str, top_level: str | None = None) -> str:
    """Find the top level directory of ``directory``, Django's way: walk up
    while the directory is a package.

    :param directory: where discovery starts.
    :param top_level: the top level given (``-t``); returned as it is when set.
    """
    if top_level:
        return top_level
    top = os.path.abspath(directory)
    while os.path.exists(os.path.join(top, "__init__.py")):
        parent = os.path.dirname(top)
        if parent == top:
            break
        top = parent
    return top


def module_name_for_path(path: str, top_level: str | None = None) -> str:
    """Return the dotted module name of the ``.py`` file ``path``.

    :param path: the test file.
    :param top_level: the directory module names start from (default: the
        current directory).
    """
    top = os.path.abspath(top_level or os.getcwd())
    rel = os.path.relpath(os.path.abspath(path), top)
    if rel.startswith(os.pardir):
        raise ConfigurationError(
            f"The test file {path} is outside {top}; run from a directory above it or pass "
            "-t/--top-level-directory."
        )
    return rel[:-3].replace("\\", ".").replace("/", ".")


def load_tests_for_label(
    label: str,
    make_loader: t.Callable[[], unittest.TestLoader],
    pattern: str,
    top_level: str | None = None,
) -> unittest.TestSuite:
    """Load the tests ``label`` names.

    :param label: a directory, a ``.py`` file, a dotted package, module,
        class or method name.
    :param make_loader: gives a fresh ``unittest.TestLoader`` (discovery
        changes the loader it uses).
    :param pattern: the file name pattern of discovery.
    :param top_level: the top level directory of discovery (``-t``).
    """

    def discover(directory: str) -> unittest.TestSuite:
        return make_loader().discover(
            start_dir=directory, pattern=pattern, top_level_dir=top_level_for(directory, top_level)
        )

    suite = _load(label, make_loader, discover, top_level)
    explain_import_errors(suite)
    return suite


def _load(
    label: str,
    make_loader: t.Callable[[], unittest.TestLoader],
    discover: t.Callable[[str], unittest.TestSuite],
    top_level: str | None,
) -> unittest.TestSuite:
    if os.path.isdir(label):
        return discover(label)
    if os.path.isfile(label) and label.endswith(".py"):
        return make_loader().loadTestsFromName(module_name_for_path(label, top_level))
    if os.sep in label or label.endswith(".py"):
        raise ConfigurationError(
            f"The test label {label!r} is neither a directory, a Python file nor a dotted "
            "module name. Check the path."
        )
    try:
        spec = importlib.util.find_spec(label)
    except Exception:
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return discover(list(spec.submodule_search_locations)[0])
    return make_loader().loadTestsFromName(label)


#: The last line of a traceback of ``os.environ[NAME]`` with NAME unset.
_KEY_ERROR = re.compile(r"^KeyError: '([^']+)'$")
#: A traceback's frame line: its file and line number.
_FRAME = re.compile(r'^  File "([^"]+)", line (\d+), in ')


def _unset_variable(text: str) -> tuple[str, str, str] | None:
    """Find, in the traceback of a failed import, an unset variable read from ``os.environ``.

    Returns the variable's name and the file and line that read it.

    :param text: unittest's message of a test module that failed to import.
    """
    lines = text.rstrip().splitlines()
    found = _KEY_ERROR.match(lines[-1]) if lines else None
    if found is None:
        return None
    frames = [(i, m) for i, line in enumerate(lines) if (m := _FRAME.match(line))]
    for (_, reader), (_, inner) in zip(frames, frames[1:]):
        path = inner.group(1)
        if path == "<frozen os>" or os.path.basename(path) == "os.py":
            return found.group(1), reader.group(1), reader.group(2)
    return None


def _looks_like_a_database_url(name: str) -> bool:
    upper = name.upper()
    return "DATABASE" in upper or upper.endswith(("_URL", "_URI", "_DSN"))


def explain_import_errors(suite: unittest.TestSuite) -> None:
    """Explain, in place of unittest's traceback, a test module that failed to
    import because a module it imports reads an unset environment variable.

    Each such module becomes a set-up error (a
    :class:`~flask_dbtestcase.errors.ConfigurationError`) that says what
    happened and what to do; the first names the fix in full, the others
    refer to it. Other failed imports are left as unittest reports them.

    :param suite: what a label loaded.
    """
    first: dict[tuple[str, str, str], str] = {}
    for test in _walk(suite):
        if type(test).__name__ != "_FailedTest" or type(test).__module__ != "unittest.loader":
            continue
        error = getattr(test, "_exception", None)
        text = str(error) if isinstance(error, ImportError) else ""
        module = text.partition("\n")[0].rpartition(": ")[2]
        read = _unset_variable(text) if text.startswith("Failed to import") else None
        if read is None:
            continue
        name, path, line = read
        if read in first:
            message = (
                f"Importing {module} failed for the same reason as importing {first[read]}: "
                f"{path}:{line} reads the environment variable {name}, which is not set."
            )
        else:
            first[read] = module
            message = _unset_variable_message(module, name, path, line)
        # unittest's _FailedTest raises what it holds when it runs: a set-up
        # error now, reported without a traceback, in a worker too.
        test._exception = ConfigurationError(message)  # type: ignore[attr-defined]


def _unset_variable_message(module: str, name: str, path: str, line: str) -> str:
    """Say that importing ``module`` read the unset variable ``name``, and what to do."""
    database = ""
    if _looks_like_a_database_url(name):
        database = (
            f"flask-dbtestcase does not set {name}: it hands the test database's URL to "
            "the app factory, in the config mapping it is given (as SQLALCHEMY_DATABASE_URI), "
            "so the tests do not need the app's own URL. "
        )
    return (
        f"Importing {module} failed: {path}:{line} reads the environment variable {name} "
        f"(os.environ[{name!r}]) when the module is imported, and it is not set. {database}"
        f"Read it when the app is created rather than when the module is imported (in the "
        f"app factory, with os.environ.get({name!r})), or set it for the run."
    )


def _walk(suite: unittest.TestSuite) -> t.Iterator[unittest.TestCase]:
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from _walk(test)
        else:
            yield test


def no_tests_hint(
    labels: t.Sequence[str],
    pattern: str,
    top_level: str | None,
    name_patterns: t.Sequence[str],
    tags: t.Sequence[str] = (),
) -> str:
    """Say where a run that found no test looked, and what to check.

    :param labels: the labels the run was given.
    :param pattern: the file name pattern of discovery (``-p``).
    :param top_level: the top level directory (``-t``), if given.
    :param name_patterns: the ``-k`` patterns, if any.
    :param tags: the ``--tag`` and ``--exclude-tag`` tags, if any.
    """
    where = ", ".join(labels) if labels else os.path.abspath(top_level or os.getcwd())
    k_hint = f", that the -k patterns ({', '.join(name_patterns)}) match" if name_patterns else ""
    if tags:
        k_hint += f", that the tags ({', '.join(tags)}) are spelt as in the tests' @tag()"
    return (
        f"No tests were found in {where}. Discovery looks for files named like {pattern!r}"
        " as python -m unittest does: only in directories that are packages (with an"
        " __init__.py). Check that you run it from your project's root directory, that"
        f" the test directories have an __init__.py{k_hint}, and that the labels name"
        " test modules."
    )
