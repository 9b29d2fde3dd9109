"""Sphinx configuration of the flask-dbtestcase documentation (make docs)."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# The package from this checkout (make docs installs it editable anyway),
# and the project's own Sphinx extensions.
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, "_ext"))

import flask_dbtestcase  # noqa: E402

project = "flask-dbtestcase"
author = "The flask-dbtestcase developers"
copyright = "the flask-dbtestcase developers"
version = release = flask_dbtestcase.__version__

extensions = [
    "sphinx.ext.autodoc",
    "myst_parser",
    # docs/_ext: tables generated from the code, so they cannot go stale.
    "settings_table",
    "runner_options",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
templates_path = []

# No network at build time: no intersphinx, no remote images.
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_default_options = {"show-inheritance": True}

myst_heading_anchors = 3

html_theme = "furo"
html_title = f"flask-dbtestcase {release}"
html_static_path = []
html_show_sourcelink = False


def _public_bases(app, name, obj, options, bases):
    """Show public bases only: a private one (``_AppTestCase``) by its own bases."""
    public = []
    pending = list(bases)
    while pending:
        base = pending.pop(0)
        if getattr(base, "__name__", "").startswith("_"):
            pending[:0] = list(base.__bases__)
        elif base not in public:
            public.append(base)
    bases[:] = public


def setup(app):
    app.connect("autodoc-process-bases", _public_bases)
