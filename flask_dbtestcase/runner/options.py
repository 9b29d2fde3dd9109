"""The runner's command line options, as :meth:`DBTestRunner.add_arguments
<flask_dbtestcase.runner.testrunner.DBTestRunner.add_arguments>` declares them:
one per argument of ``DBTestRunner.__init__``.
"""

from __future__ import annotations

import argparse
import os
import typing as t

from ..errors import ConfigurationError
from ..settings import TEST_DATABASE_URL_ENV
from .ordering import parse_shard

__all__ = ["add_runner_arguments", "name_patterns", "shard_option", "worker_count"]


def worker_count(parallel: int | str, pdb: bool = False) -> int:
    """Return the ``--parallel`` workers asked for (``auto``: one per core; 0: none).

    :param parallel: ``--parallel``'s value.
    :param pdb: ``--pdb``, which needs a terminal: no workers.
    """
    count = (os.cpu_count() or 1) if parallel == "auto" else int(parallel or 0)
    if pdb and count > 1:
        raise ConfigurationError(
            "--pdb cannot be used with --parallel: the tests run in worker processes "
            "that have no terminal for the debugger. Leave out --parallel (or give "
            "--parallel 1) to debug."
        )
    return count


def name_patterns(patterns: t.Sequence[str] | None) -> list[str] | None:
    """Return ``-k``'s patterns as unittest's ``testNamePatterns`` (a plain word: ``*word*``).

    :param patterns: the patterns given.
    """
    return [p if "*" in p else f"*{p}*" for p in patterns] if patterns else None


def shard_option(shard: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """Return ``--shard K/N`` as ``(K, N)``, or say what is wrong with it.

    :param shard: ``"K/N"``, ``(K, N)`` or None.
    """
    try:
        return parse_shard(shard) if shard else None
    except ValueError as exc:
        raise ConfigurationError(f"--shard: {exc}.") from exc


def _parallel_type(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        number = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an integer or the string 'auto'"
        ) from exc
    if number < 0:
        raise argparse.ArgumentTypeError("--parallel must be 0 or more")
    return number


def _shard_type(value: str) -> tuple[int, int]:
    try:
        return parse_shard(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_runner_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of :class:`~flask_dbtestcase.runner.testrunner.DBTestRunner`.

    :param parser: the command line parser.
    """
    parser.add_argument(
        "-t",
        "--top-level-directory",
        dest="top_level",
        help="Top level of project for unittest discovery.",
    )
    parser.add_argument(
        "-p",
        "--pattern",
        default="test*.py",
        help="The test matching pattern. Defaults to test*.py.",
    )
    parser.add_argument(
        "-v",
        "--verbosity",
        type=int,
        default=1,
        choices=[0, 1, 2, 3],
        help="Verbosity level; 0=minimal output, 1=normal output, 2=verbose output, "
        "3=very verbose output.",
    )
    parser.add_argument(
        "--noinput",
        "--no-input",
        action="store_false",
        dest="interactive",
        help="Do not prompt: an existing test database is destroyed.",
    )
    parser.add_argument(
        "--failfast",
        action="store_true",
        help="Stop running the test suite after first failed test.",
    )
    parser.add_argument(
        "--keepdb",
        "--reuse-db",
        action="store_true",
        help="Preserve the test database between runs (reuse it if it exists); "
        "on the throwaway server, keep its data directory for the next run "
        "of this project. --reuse-db is the same, under the pytest plugin's name.",
    )
    parser.add_argument(
        "--migrations",
        action="store_const",
        const=True,
        default=None,
        help="Build the test database with the Flask-Migrate migrations (schema = "
        '"migrations"), whatever pyproject.toml says; a test class\'s own schema wins.',
    )
    parser.add_argument(
        "--no-migrations",
        "--nomigrations",
        action="store_const",
        const=False,
        dest="migrations",
        help="Build the test database with create_all(), not the migrations (schema = "
        '"create_all"), whatever pyproject.toml says; a test class\'s own schema wins.',
    )
    parser.add_argument(
        "--shuffle",
        nargs="?",
        default=False,
        type=int,
        metavar="SEED",
        help="Shuffle the order of test cases to help check that tests are "
        "properly isolated. Give the printed seed to replay an order.",
    )
    parser.add_argument(
        "-r",
        "--reverse",
        action="store_true",
        help="Reverse test case order within each group.",
    )
    parser.add_argument(
        "--debug-sql",
        "-d",
        action="store_true",
        help="Print the SQL a failing or erroring test executed.",
    )
    parser.add_argument(
        "--parallel",
        nargs="?",
        const="auto",
        default=0,
        type=_parallel_type,
        metavar="N",
        help="Run tests using up to N parallel processes, each with its own "
        "database cloned from the test database. Use 'auto' (the default "
        "without N) for one process per core; 'auto' runs serially below 50 "
        "tests, where the workers cannot pay for their start-up.",
    )
    parser.add_argument(
        "-k",
        action="append",
        dest="test_name_patterns",
        metavar="PATTERN",
        help="Only run test methods and classes that match the pattern or "
        "substring. Can be used multiple times. Same as unittest -k.",
    )
    parser.add_argument(
        "-b",
        "--buffer",
        action="store_true",
        help="Discard output from passing tests.",
    )
    parser.add_argument(
        "--durations",
        type=int,
        default=None,
        metavar="N",
        help="Show the N slowest test cases (N=0 for all).",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        default=None,
        help="An existing PostgreSQL server to create the test database on "
        f"(test_<name>); default: ${TEST_DATABASE_URL_ENV}, else a throwaway local "
        "server.",
    )
    parser.add_argument(
        "--junit-xml",
        metavar="PATH",
        default=None,
        help="Write a JUnit XML report to PATH.",
    )
    parser.add_argument(
        "--tag",
        action="append",
        dest="tags",
        metavar="TAG",
        help="Run only tests with this tag (flask_dbtestcase.tag). Can be used multiple "
        "times: a test with any of the tags runs.",
    )
    parser.add_argument(
        "--exclude-tag",
        action="append",
        dest="exclude_tags",
        metavar="TAG",
        help="Do not run tests with this tag. Can be used multiple times; it wins over --tag.",
    )
    parser.add_argument(
        "--pdb",
        action="store_true",
        help="Open a pdb debugger on each error or failure, at its traceback. Not with --parallel.",
    )
    parser.add_argument(
        "--no-color",
        action="store_true",
        help="Print no colour (also NO_COLOR). Colour is used on a terminal only, or with "
        "FORCE_COLOR.",
    )
    parser.add_argument(
        "--shard",
        metavar="K/N",
        default=None,
        type=_shard_type,
        help="Run only the K-th of N slices of the suite (1 <= K <= N), for "
        "spreading one suite over N CI jobs: whole test classes, dealt "
        "out the same way on every machine; the N shards together run "
        "every test once.",
    )
