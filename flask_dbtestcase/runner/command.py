"""The command line of ``python -m flask_dbtestcase``, ``flask test`` and ``runtests.py``.

:func:`main` picks the runner class (``--runner``, else
``FLASK_DBTESTCASE_RUNNER``, else :class:`DBTestRunner`), builds the parser
from its options (:func:`build_parser`), and turns the outcome into the exit
status.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import sys
import typing as t

from .. import __version__
from ..errors import ConfigurationError, DBTestCaseError
from ..settings import DATABASE_URL_ENV, RUNNER_ENV, TEST_DATABASE_URL_ENV, Settings
from .testrunner import DBTestRunner

__all__ = ["NO_TESTS_EXIT", "build_parser", "main"]

#: The exit status of a run that found no test, as pytest's and unittest's (3.12+).
NO_TESTS_EXIT = 5


#: Options of other test runners (pytest, pytest-django, pytest-xdist,
#: unittest) and what the runner does instead.
_EQUIVALENTS = {
    "-x": "use --failfast",
    "--exitfirst": "use --failfast",
    "-f": "use --failfast",
    "-n": "use --parallel N",
    "--numprocesses": "use --parallel N",
    "--create-db": "not needed: the test database is created afresh on every run without --keepdb",
}


class _Parser(argparse.ArgumentParser):
    """An argument parser that suggests the closest option for an unknown one."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        self.option_names: list[str] = []
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: t.Any, **kwargs: t.Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.option_names.extend(action.option_strings)
        return action

    def error(self, message: str) -> t.NoReturn:
        prefix = "unrecognized arguments: "
        if message.startswith(prefix):
            words = message[len(prefix) :].split()
            hints = [(w, h) for w in words if (h := _closest_option(w, self.option_names))]
            if len(words) == 1 and hints:
                message += f" ({hints[0][1]})"
            elif hints:
                message += f" ({'; '.join(f'{w}: {h}' for w, h in hints)})"
        super().error(message)


def _closest_option(word: str, options: t.Sequence[str]) -> str | None:
    """Say which option an unknown one probably meant; ``None``: none is close.

    :param word: an unknown argument (``--keep-db``, ``--paralel=2``, ``-x``).
    :param options: the parser's option strings.
    """
    if not word.startswith("-"):
        return None
    name = word.split("=", 1)[0]
    if name in _EQUIVALENTS:
        return _EQUIVALENTS[name]
    found = difflib.get_close_matches(name, [o for o in options if o.startswith("--")], n=1)
    if not found and not name.startswith("--"):
        found = difflib.get_close_matches(f"-{name}", options, n=1)
    return f"did you mean {found[0]}?" if found else None


def _load_runner_class(spec: str) -> type[DBTestRunner]:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigurationError(
            f"--runner takes module:Class, e.g. myproject.testing:MyRunner; got {spec!r}."
        )
    cwd = os.getcwd()
    if cwd not in {os.path.abspath(p or os.curdir) for p in sys.path}:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
        runner_class = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(
            f"Could not load the test runner {spec!r}: {exc}. Check the module path and "
            "the class name."
        ) from exc
    if not (isinstance(runner_class, type) and hasattr(runner_class, "run_tests")):
        raise ConfigurationError(
            f"--runner {spec!r} is not a test runner class (it needs run_tests())."
        )
    # A DBTestRunner subclass, or a class with the same methods.
    return t.cast("type[DBTestRunner]", runner_class)


def _pick_runner_spec(argv: t.Sequence[str]) -> str | None:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--runner", default=None)
    options, _ = pre.parse_known_args(argv)
    spec: str | None = options.runner or Settings.load().runner
    return spec


def _shuffle_hint(argv: t.Sequence[str]) -> str | None:
    """Say so when ``--shuffle`` swallows the label after it as its seed."""
    for option, following in zip(argv, argv[1:]):
        if option == "--shuffle" and not following.startswith("-"):
            try:
                int(following)
            except ValueError:
                return (
                    f"--shuffle takes an optional SEED (a number), so {following!r} after it "
                    f"is read as its seed. Put the labels first ({following} --shuffle), or "
                    f"give a seed (--shuffle 42 {following})."
                )
    return None


def build_parser(
    runner_class: type[DBTestRunner] = DBTestRunner,
    prog: str | None = None,
    add_help: bool = True,
) -> argparse.ArgumentParser:
    """Build the command line parser: labels, --runner and the runner's options.

    :param runner_class: declares its options (``add_arguments(parser)``).
    :param prog: the program name in the usage line
        (default ``python -m flask_dbtestcase``).
    :param add_help: add ``-h``/``--help``.
    """
    parser = _Parser(
        prog=prog or "python -m flask_dbtestcase",
        add_help=add_help,
        description="Run tests against a test database created for the run and destroyed after it.",
        epilog=f"The database: ${DATABASE_URL_ENV} if set (used as is); else test_<name> on "
        f"--database-url / ${TEST_DATABASE_URL_ENV} (dropped at the end unless --keepdb); else "
        "a throwaway local PostgreSQL. Exit status: 0 all passed, 1 some failed, 2 usage or "
        "set-up error, 5 no test found, 130 interrupted.",
    )
    parser.add_argument(
        "labels",
        nargs="*",
        metavar="label",
        help="Module paths, dotted names (module, module.Class, module.Class.test_method) "
        "or directories to run tests from. Default: discover from the current "
        "directory.",
    )
    parser.add_argument("--version", action="version", version=f"flask-dbtestcase {__version__}")
    parser.add_argument(
        "--runner",
        metavar="MODULE:CLASS",
        default=None,
        help=f"Use this DBTestRunner subclass (also ${RUNNER_ENV}).",
    )
    runner_class.add_arguments(parser)
    return parser


def main(
    argv: t.Sequence[str] | None = None, prog: str | None = None, app_factory: str | None = None
) -> int:
    """Run the command line: the entry point of ``python -m flask_dbtestcase`` and ``flask test``.

    Returns the process exit code: 0 all passed, 1 failures, 2 usage or
    set-up error, 5 no test found, 130 interrupted.

    :param argv: the arguments (default: ``sys.argv[1:]``).
    :param prog: the program name in the usage line.
    :param app_factory: the app ``flask test`` found (``flask --app``).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        spec = _pick_runner_spec(argv)
        runner_class = _load_runner_class(spec) if spec else DBTestRunner
    except DBTestCaseError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    parser = build_parser(runner_class, prog=prog)
    hint = _shuffle_hint(argv)
    if hint:
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"{parser.prog}: error: {hint}\n")
        return 2
    try:
        options = parser.parse_intermixed_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    kwargs = dict(vars(options))
    labels = kwargs.pop("labels")
    kwargs.pop("runner", None)
    if app_factory:
        kwargs["app_factory"] = app_factory
    try:
        runner = runner_class(**kwargs)
        failures = runner.run_tests(labels)
    except DBTestCaseError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.stderr.flush()
        return 2
    except KeyboardInterrupt:
        return 130
    if getattr(runner, "setup_errors", 0):
        return 2
    if not failures and getattr(runner, "tests_found", None) == 0:
        return NO_TESTS_EXIT
    return 1 if failures else 0
