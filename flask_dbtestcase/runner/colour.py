"""Colour in the runner's output: failures and errors red, passes green,
skips yellow, and the summary line in the colour of the run's outcome.

Colour is used when the stream is a terminal (and ``TERM`` is not
``dumb``), unless ``--no-color`` or ``NO_COLOR`` says otherwise;
``FORCE_COLOR`` asks for it without a terminal (``NO_COLOR`` wins, as the
two conventions agree). A report written to a file or a pipe is plain.
"""

from __future__ import annotations

import os
import typing as t

from ..settings import Settings

__all__ = ["COLOURS", "ColourStream", "colour_wanted", "paint"]

#: The ANSI SGR codes of the colours the runner uses.
COLOURS = {"red": "31", "green": "32", "yellow": "33", "bold": "1"}
_RESET = "\x1b[0m"

#: The status tokens unittest's runner writes after the run, and their colours.
_CLOSING_TOKENS = {"OK": "green", "FAILED": "red", "NO TESTS RAN": "yellow"}


def colour_wanted(
    stream: t.Any, no_color: bool, settings: Settings, environ: t.Mapping[str, str] | None = None
) -> bool:
    """Tell whether the runner's output to ``stream`` gets colour.

    :param stream: where the report is written.
    :param no_color: ``--no-color``.
    :param settings: the ``NO_COLOR`` and ``FORCE_COLOR`` settings.
    :param environ: where ``TERM`` is read (default: ``os.environ``).
    """
    if no_color or settings.no_color:
        return False
    if settings.force_color:
        return True
    env = os.environ if environ is None else environ
    if env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except (OSError, ValueError):  # a closed or detached stream
        return False


def paint(text: str, colour: str | None, enabled: bool = True) -> str:
    """Return ``text`` in ``colour`` (one of :data:`COLOURS`), or as it is.

    :param text: what to colour.
    :param colour: the colour; ``None``: none.
    :param enabled: colour at all (:func:`colour_wanted`).
    """
    if not enabled or colour is None or not text:
        return text
    return f"\x1b[{COLOURS[colour]}m{text}{_RESET}"


class ColourStream:
    """Wrap the report's stream; colour what unittest's result writes while
    :attr:`colour` is set, and the closing ``OK``/``FAILED`` once :attr:`closing` is.

    unittest writes each status (``.``, ``F``, ``ok``, ``FAIL``) in a write
    of its own, so the result sets :attr:`colour` around its own calls to
    unittest's ``add*`` methods and every non-blank write they make is
    painted; the rest passes through untouched.

    :param stream: the stream to write to.
    :param enabled: colour at all (:func:`colour_wanted`).
    """

    def __init__(self, stream: t.Any, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        #: The colour of the writes made now (``None``: none).
        self.colour: str | None = None
        #: The run is over: colour unittest's closing status word.
        self.closing = False

    def write(self, text: str) -> int:
        """Write ``text``, painted when a colour is set and it is not blank.

        :param text: what to write.
        """
        colour = self.colour
        if colour is None and self.closing:
            colour = _CLOSING_TOKENS.get(text)
        if self.enabled and colour is not None and text.strip():
            text = paint(text, colour)
        written: int = self.stream.write(text)
        return written

    def flush(self) -> None:
        """Flush the stream."""
        self.stream.flush()

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self.stream, name)
