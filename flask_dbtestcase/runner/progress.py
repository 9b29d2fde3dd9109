"""The run's progress at verbosity 1, as pytest shows it: each line of dots
ends, at the terminal's width (80 columns without a terminal), with the
share of the tests done so far (``[ 45%]``), and so does the last line."""

from __future__ import annotations

import os
import typing as t

__all__ = ["DEFAULT_WIDTH", "ProgressStream", "report_width"]

#: The width of a report written to a file or a pipe, as pytest's.
DEFAULT_WIDTH = 80
#: What ends a line: `` [ 45%]``.
_SUFFIX_WIDTH = len(" [100%]")


def report_width(stream: t.Any) -> int:
    """Return the width of the report's lines: the terminal's, else 80.

    :param stream: where the report is written.
    """
    try:
        if stream.isatty():
            return max(os.get_terminal_size(stream.fileno()).columns, _SUFFIX_WIDTH + 1)
    except (AttributeError, OSError, ValueError):  # no file, a closed or odd stream
        pass
    return DEFAULT_WIDTH


class ProgressStream:
    """Wrap the report's stream; know the column the next write starts at,
    and end a full line of statuses with the run's progress.

    :param stream: the stream to write to.
    :param width: the width of a line (:func:`report_width`).
    """

    def __init__(self, stream: t.Any, width: int) -> None:
        self.stream = stream
        self.width = width
        #: The characters written since the last newline.
        self.column = 0

    def write(self, text: str) -> int:
        """Write ``text``, following the column.

        :param text: what to write.
        """
        head, newline, tail = text.rpartition("\n")
        self.column = len(tail) if newline else self.column + len(text)
        written: int = self.stream.write(text)
        return written

    def line_full(self) -> bool:
        """Tell whether the line has no room left for another status before its progress."""
        return self.column >= self.width - _SUFFIX_WIDTH

    def end_line(self, percent: int, newline: bool = True) -> None:
        """End the current line with the progress, at the right edge.

        :param percent: the share of the tests done, 0 to 100.
        :param newline: write the newline too (the last line's comes from unittest).
        """
        padding = max(0, self.width - _SUFFIX_WIDTH - self.column)
        self.write(f"{' ' * padding} [{percent:3d}%]{chr(10) if newline else ''}")

    def flush(self) -> None:
        """Flush the stream."""
        self.stream.flush()

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self.stream, name)
