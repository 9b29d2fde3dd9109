"""Test labels to tests, as ``python -m unittest`` and Django take them: a
directory (discovered), a ``.py`` file, a dotted package (discovered) or a
dotted module, class or method name."""

from __future__ import annotations

import importlib.util
import os
import typing as t
import unittest

from ..errors import ConfigurationError

__all__ = ["load_tests_for_label", "module_name_for_path", "no_tests_hint", "top_level_for"]


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
