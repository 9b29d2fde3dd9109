"""The closing lines of a run: no test found, the run's own server stopped,
the set-up errors, the interruption, and the ``N passed, N failed[, N
skipped][, N errors in set-up]`` summary every run ends with."""

from __future__ import annotations

import typing as t
import unittest

from .colour import paint
from .serverstop import broken_by_stopped_server, stopped_server_report

__all__ = [
    "Line",
    "closing_lines",
    "interrupted_line",
    "setup_error_ids",
    "setup_errors_line",
    "summary_line",
    "write_closing",
]

#: A line of the report and its colour (``None``: none).
Line = tuple[str, t.Optional[str]]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary_line(result: unittest.TestResult) -> str:
    """Return the last line of every run: ``N passed, N failed[, N skipped][, N
    errors in set-up]``.

    Tests are counted, not error entries, when the result can count them
    (:meth:`~flask_dbtestcase.runner.results.DBTestResult.counts`); a set-up
    error (a bad app factory, no database, a test module that cannot be
    imported) is counted as one, not as a failed test.

    :param result: the run's result.
    """
    counts = getattr(result, "counts", None)
    setup_errors = 0
    if counts is not None:
        passed, failed, skipped = counts()
        count_setup_errors = getattr(result, "setup_error_count", None)
        setup_errors = count_setup_errors() if count_setup_errors is not None else 0
    else:
        failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
        skipped = len(result.skipped)
        passed = max(0, result.testsRun - failed - skipped)
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    if setup_errors:
        line += f", {_plural(setup_errors, 'error')} in set-up"
    return line


def setup_error_ids(result: unittest.TestResult, broken: t.Collection[str]) -> list[str]:
    """Return the ids of the tests with a set-up error, less those a stopped server broke.

    A connection refused by the run's own stopped server is not the
    project's set-up error.

    :param result: the run's result.
    :param broken: the ids of the tests the stopped server broke.
    """
    return [key for key in getattr(result, "setup_error_ids", []) if key not in broken]


def setup_errors_line(count: int) -> str:
    """Say that ``count`` set-up errors make the run exit 2.

    :param count: the number of set-up errors (at least one).
    """
    return (
        f"{_plural(count, 'set-up error')} (the run exits with status 2): the tests "
        "concerned could not run; the message above says what to fix."
    )


def interrupted_line(ran: int) -> str:
    """Say how many tests ran before Ctrl-C.

    :param ran: the number of tests that ran.
    """
    return f"Interrupted: {_plural(ran, 'test')} ran"


def closing_lines(
    result: unittest.TestResult, stop: tuple[str, str] | None, no_tests: str | None
) -> tuple[list[Line], int]:
    """Return the lines printed before the summary line, and the number of set-up errors.

    :param result: the run's result.
    :param stop: why the run's own server stopped, and its socket directory, if it did.
    :param no_tests: the hint of a run that found no test, if it found none.
    """
    lines: list[Line] = []
    if no_tests:
        lines.append((no_tests, "yellow"))
    broken = broken_by_stopped_server(result, stop[1]) if stop is not None else []
    if stop is not None:
        lines.append((stopped_server_report(stop[0], broken), "yellow"))
    setup_errors = len(setup_error_ids(result, broken))
    if setup_errors:
        lines.append((setup_errors_line(setup_errors), "red"))
    return lines, setup_errors


def write_closing(
    stream: t.TextIO,
    colour: bool,
    result: unittest.TestResult,
    stop: tuple[str, str] | None,
    no_tests: str | None,
    summary: str,
    failed: bool,
) -> int:
    """Write the closing lines and the summary line of a run; return its set-up errors.

    :param stream: where the report goes.
    :param colour: paint the lines.
    :param result: the run's result.
    :param stop: why the run's own server stopped, and its socket directory, if it did.
    :param no_tests: the hint of a run that found no test, if it found none.
    :param summary: the summary line.
    :param failed: the run failed: the summary line is red, else green.
    """
    lines, setup_errors = closing_lines(result, stop, no_tests)
    lines.append((summary, "red" if failed else "green"))
    stream.write("".join(paint(line, tint, colour) + "\n" for line, tint in lines))
    stream.flush()
    return setup_errors
