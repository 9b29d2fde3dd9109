"""The order of a run: flatten, filter by tag, reorder (Django's bins),
shuffle, partition, shard.

Pure functions on lists of ``unittest.TestCase`` instances; nothing here
imports the rest of the package but :mod:`flask_dbtestcase.tags`, so
building a suite stays cheap.
"""

from __future__ import annotations

import hashlib
import random
import typing as t
import unittest
from collections import OrderedDict

from ..tags import tags_of

__all__ = [
    "PackageCases",
    "Shuffler",
    "class_key",
    "filter_by_tags",
    "iter_test_cases",
    "parse_shard",
    "partition_by_class",
    "plan_workers",
    "reorder_tests",
    "select_tests",
    "shard_tests",
    "shuffle_tests",
]

_T = t.TypeVar("_T")


def iter_test_cases(
    tests: t.Iterable[unittest.TestCase | unittest.TestSuite],
) -> t.Iterator[unittest.TestCase]:
    """Yield every TestCase of a (possibly nested) suite, in order.

    :param tests: a suite, or any iterable of test cases and suites.
    """
    for test in tests:
        if isinstance(test, unittest.TestCase):
            yield test
        elif isinstance(test, str):  # pragma: no cover - defensive
            raise TypeError(f"Test {test!r} must be a TestCase or a TestSuite, not a string.")
        else:
            yield from iter_test_cases(test)


def filter_by_tags(
    tests: t.Iterable[unittest.TestCase],
    tags: t.Collection[str] = (),
    exclude_tags: t.Collection[str] = (),
) -> list[unittest.TestCase]:
    """Keep the tests with one of ``tags`` (all of them when none is given)
    and none of ``exclude_tags``, as Django's ``--tag`` and ``--exclude-tag``.

    :param tests: the tests to filter.
    :param tags: the tags of the tests to keep.
    :param exclude_tags: the tags of the tests to leave out; they win.

    A module that failed to import is kept whatever the tags, so its error shows.
    """
    wanted, unwanted = set(tags), set(exclude_tags)
    kept = []
    for test in tests:
        found = tags_of(test)
        if _failed_to_load(test) or (not wanted or found & wanted) and not found & unwanted:
            kept.append(test)
    return kept


def _failed_to_load(test: unittest.TestCase) -> bool:
    """True for the stand-in of a module that failed to import: it always
    runs, or a syntax error would pass unseen (as in Django)."""
    cls = type(test)
    return cls.__module__ == "unittest.loader" and cls.__name__ == "_FailedTest"


def class_key(test: unittest.TestCase) -> str:
    """Return the dotted name of the test's class, ``module.QualifiedName``.

    :param test: the test case.
    """
    cls = type(test)
    return f"{cls.__module__}.{cls.__qualname__}"


class Shuffler:
    """Order items as Django's shuffler does: seeded, reproducible, and
    independent of the order the tests were found in.

    :param seed: the seed to replay (default: a new random one).
    """

    hash_algorithm = "md5"

    def __init__(self, seed: int | None = None) -> None:
        if seed is None:
            seed = random.randint(0, 10**10 - 1)
            self.seed_source = "generated"
        else:
            self.seed_source = "given"
        self.seed = seed

    @property
    def seed_display(self) -> str:
        """The seed and where it came from, as the run prints it."""
        return f"{self.seed} ({self.seed_source})"

    def _hash_text(self, text: str) -> str:
        try:
            h = hashlib.new(self.hash_algorithm, usedforsecurity=False)
        except TypeError:  # pragma: no cover - Python < 3.9
            h = hashlib.new(self.hash_algorithm)
        h.update(text.encode("utf-8"))
        return h.hexdigest()

    def shuffle(self, items: t.Iterable[_T], key: t.Callable[[_T], str]) -> list[_T]:
        """Return ``items`` in the order of the seeded hashes of their keys.

        :param items: the items to order.
        :param key: gives the text hashed for each item.
        """
        hashed: dict[str, _T] = {}
        for item in items:
            digest = self._hash_text(f"{self.seed}{key(item)}")
            if digest in hashed:  # pragma: no cover - equal keys
                raise RuntimeError(f"item {item!r} has the same hash as {hashed[digest]!r}")
            hashed[digest] = item
        return [hashed[digest] for digest in sorted(hashed)]


def shuffle_tests(
    tests: t.Iterable[unittest.TestCase], shuffler: Shuffler
) -> t.Iterator[unittest.TestCase]:
    """Shuffle modules, classes within modules, tests within classes: tests
    of one class stay together so class fixtures run once.

    :param tests: the tests to shuffle.
    :param shuffler: decides the order.
    """
    by_module: OrderedDict[str, OrderedDict[str, list[unittest.TestCase]]] = OrderedDict()
    for test in tests:
        cls = type(test)
        classes = by_module.setdefault(cls.__module__, OrderedDict())
        classes.setdefault(cls.__qualname__, []).append(test)
    for module in shuffler.shuffle(by_module, key=lambda m: m):
        classes = by_module[module]
        for cls_name in shuffler.shuffle(classes, key=lambda c: c):
            yield from shuffler.shuffle(classes[cls_name], key=lambda test: test.id())


def reorder_tests(
    tests: t.Iterable[unittest.TestCase],
    classes: t.Sequence[type[unittest.TestCase]],
    reverse: bool = False,
    shuffler: Shuffler | None = None,
) -> t.Iterator[unittest.TestCase]:
    """Group tests Django's way: bins in ``classes`` order, then the rest;
    within a bin, tests of one class together; duplicates dropped.

    :param tests: the tests to order.
    :param classes: the classes whose tests run first, in order.
    :param reverse: reverse the order of the classes and tests within each bin.
    :param shuffler: shuffle the tests first.
    """
    if shuffler is not None:
        tests = shuffle_tests(tests, shuffler)
    bins: list[OrderedDict[type, list[unittest.TestCase]]] = [
        OrderedDict() for _ in range(len(classes) + 1)
    ]
    seen = set()
    for test in tests:
        marker = (type(test), test.id())
        if marker in seen:
            continue
        seen.add(marker)
        test_bin = bins[-1]
        for candidate, cls in zip(bins, classes):
            if isinstance(test, cls):
                test_bin = candidate
                break
        test_bin.setdefault(type(test), []).append(test)
    for test_bin in bins:
        groups = list(test_bin.values())
        if reverse:
            groups.reverse()
        for group in groups:
            yield from (reversed(group) if reverse else group)


def partition_by_class(tests: t.Iterable[unittest.TestCase]) -> list[list[unittest.TestCase]]:
    """Split an ordered list of tests into runs of one class each.

    :param tests: the tests, in the order they run.
    """
    groups: list[list[unittest.TestCase]] = []
    for test in tests:
        if groups and type(groups[-1][-1]) is type(test):
            groups[-1].append(test)
        else:
            groups.append([test])
    return groups


def parse_shard(value: str | tuple[int, int]) -> tuple[int, int]:
    """Read ``"K/N"`` (or ``(K, N)``) as ``(K, N)``, checking ``1 <= K <= N``.

    ValueError says what is wrong.

    :param value: the shard, as ``--shard`` takes it or as a pair.
    """
    if isinstance(value, str):
        first, sep, second = value.partition("/")
        try:
            if not sep:
                raise ValueError
            value = (int(first), int(second))
        except ValueError:
            raise ValueError(
                f"{value!r} is not K/N, e.g. 2/4 for the second of four shards"
            ) from None
    index, total = value
    if not 1 <= index <= total:
        raise ValueError(f"shard {index}/{total}: K/N needs 1 <= K <= N")
    return index, total


def shard_tests(
    tests: t.Sequence[unittest.TestCase], index: int, total: int
) -> list[unittest.TestCase]:
    """Return the tests of shard ``index`` (1-based) of ``total``.

    Whole classes are dealt out, so class fixtures run in one shard: the
    largest classes first (ties by dotted name) each to the shard with the
    fewest tests so far (ties to the lowest number). The result depends only
    on the classes' names and sizes, never on the discovery order or the
    machine, so every shard of one suite sees the same split: together they
    run every test exactly once.

    :param tests: the whole suite's tests.
    :param index: the shard to keep, from 1.
    :param total: the number of shards.
    """
    sizes: OrderedDict[str, int] = OrderedDict()
    for test in tests:
        key = class_key(test)
        sizes[key] = sizes.get(key, 0) + 1
    loads = [0] * total
    chosen = set()
    for key in sorted(sizes, key=lambda k: (-sizes[k], k)):
        target = loads.index(min(loads))
        loads[target] += sizes[key]
        if target == index - 1:
            chosen.add(key)
    return [test for test in tests if class_key(test) in chosen]


class PackageCases:
    """``reorder_by``'s default: the package's test case classes, imported when first
    read (they import Flask and SQLAlchemy: ``--help`` must stay fast)."""

    def __get__(self, instance: object, owner: type) -> tuple[type[unittest.TestCase], ...]:
        from ..cases.classes import FlaskDBTestCase, FlaskDBTransactionTestCase

        return (FlaskDBTestCase, FlaskDBTransactionTestCase)


def select_tests(
    tests: list[unittest.TestCase],
    log: t.Callable[[str, int], None],
    *,
    tags: t.Collection[str] = (),
    exclude_tags: t.Collection[str] = (),
    shard: tuple[int, int] | None = None,
    shuffler: Shuffler | None = None,
    classes_first: t.Sequence[type[unittest.TestCase]] = (),
    reverse: bool = False,
) -> tuple[int, list[unittest.TestCase]]:
    """Filter by tags, shard, shuffle and order the tests a run found.

    Returns how many tests the tags kept (before ``--shard``) and the tests to run.

    :param tests: the tests the labels named.
    :param log: prints a message at a verbosity level.
    :param tags: run only the tests with one of these tags.
    :param exclude_tags: leave out the tests with one of these tags.
    :param shard: ``(K, N)``: only the K-th of N slices.
    :param shuffler: shuffle the tests with it.
    :param classes_first: the classes whose tests run first, in order.
    :param reverse: reverse the order within each group.
    """
    if tags or exclude_tags:
        if tags:
            log(f"Including test tag(s): {', '.join(sorted(tags))}.", 1)
        if exclude_tags:
            log(f"Excluding test tag(s): {', '.join(sorted(exclude_tags))}.", 1)
        tests = filter_by_tags(tests, tags, exclude_tags)
    found = len(tests)
    if shard is not None:
        index, total = shard
        tests = shard_tests(tests, index, total)
        log(f"Shard {index}/{total}: {len(tests)} of {found} test(s).", 2)
    if shuffler is not None:
        log(f"Using shuffle seed: {shuffler.seed_display}", 1)
    return found, list(reorder_tests(tests, classes_first, reverse=reverse, shuffler=shuffler))


def plan_workers(
    tests: list[unittest.TestCase],
    parallel: int,
    threshold: int,
    log: t.Callable[[str, int], None],
) -> tuple[int, list[list[unittest.TestCase]] | None]:
    """Decide how many ``--parallel`` workers run the tests, and their groups (one class each).

    Returns the number of workers (0: none, the run is serial) and the groups.

    :param tests: the tests to run, in order.
    :param parallel: the workers asked for.
    :param threshold: below this many tests, run serially (``--parallel auto``; 0: never).
    :param log: prints a message at a verbosity level.
    """
    if parallel > 1 and len(tests) < threshold:
        log(
            f"Running serially: {len(tests)} test(s), fewer than the {threshold} that "
            "--parallel auto needs to pay for its workers.",
            2,
        )
        return 0, None
    if parallel <= 1:
        return parallel, None
    groups = partition_by_class(tests)
    return min(parallel, len(groups)), groups
