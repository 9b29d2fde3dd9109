"""Test labels to tests, as ``python -m unittest`` and Django take them: a
directory (discovered), a ``.py`` file, a dotted package (discovered) or a
dotted module, class or method name."""

from __future__ import annotations

import importlib.util
import os

from ..errors import ConfigurationError


def top_level_for(directory, top_level=None):
    """Django's rule: walk up while the directory is a package."""
    if top_level:
        return top_level
    top = os.path.abspath(directory)
    while os.path.exists(os.path.join(top, "__init__.py")):
        parent = os.path.dirname(top)
        if parent == top:
            break
        top = parent
    return top


def module_name_for_path(path, top_level=None):
    top = os.path.abspath(top_level or os.getcwd())
    rel = os.path.relpath(os.path.abspath(path), top)
    if rel.startswith(os.pardir):
        raise ConfigurationError(
            "The test file %s is outside %s; run from a directory above it or pass "
            "-t/--top-level-directory." % (path, top))
    return rel[:-3].replace("\\", ".").replace("/", ".")


def load_tests_for_label(label, make_loader, pattern, top_level=None):
    """The tests ``label`` names; ``make_loader()`` gives a fresh
    ``unittest.TestLoader`` (discovery changes the loader it uses)."""

    def discover(directory):
        return make_loader().discover(start_dir=directory, pattern=pattern,
                                      top_level_dir=top_level_for(directory, top_level))

    if os.path.isdir(label):
        return discover(label)
    if os.path.isfile(label) and label.endswith(".py"):
        return make_loader().loadTestsFromName(module_name_for_path(label, top_level))
    if os.sep in label or label.endswith(".py"):
        raise ConfigurationError(
            "The test label %r is neither a directory, a Python file nor a dotted "
            "module name. Check the path." % label)
    try:
        spec = importlib.util.find_spec(label)
    except Exception:
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return discover(list(spec.submodule_search_locations)[0])
    return make_loader().loadTestsFromName(label)
