"""The ``settings-table`` directive: the configuration reference, from the code.

``flask_dbtestcase.settings.SETTINGS`` declares every setting once, as a
``Setting(name, env, pyproject, default, doc)``; this directive turns that
tuple into a table at build time, so the reference cannot disagree with
what the package reads. ``doc`` is reStructuredText (it is also the
settings' documentation in the code), and is parsed as such.
"""

from __future__ import annotations

import typing as t

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

if t.TYPE_CHECKING:
    from sphinx.application import Sphinx

HEADER = ("Setting", "Environment variable", "pyproject.toml key", "Default", "Meaning")


def _literal(value: str | None) -> str:
    return f"``{value}``" if value else "—"


def settings_rows() -> list[tuple[str, ...]]:
    """Return one row of the reference per entry of ``SETTINGS``, in its order."""
    from flask_dbtestcase.settings import SETTINGS

    return [
        (
            _literal(setting.name),
            _literal(setting.env),
            _literal(setting.pyproject),
            _literal(setting.default),
            " ".join(setting.doc.split()),
        )
        for setting in SETTINGS
    ]


class SettingsTable(SphinxDirective):
    """Render ``flask_dbtestcase.settings.SETTINGS`` as a table."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        import flask_dbtestcase.settings as settings_module

        # Rebuild the page whenever the settings module changes.
        self.env.note_dependency(settings_module.__file__)
        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 14 22 16 10 38", ""]
        for row in [HEADER, *settings_rows()]:
            first, *rest = row
            lines.append(f"   * - {first}")
            lines.extend(f"     - {cell}" for cell in rest)
        content = StringList(lines, source="flask_dbtestcase.settings.SETTINGS")
        container = nodes.container(classes=["settings-table"])
        self.state.nested_parse(content, self.content_offset, container)
        return list(container.children)


def setup(app: Sphinx) -> dict[str, t.Any]:
    app.add_directive("settings-table", SettingsTable)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
