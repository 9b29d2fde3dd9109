"""The order of a run: flatten, reorder (Django's bins), shuffle, partition, shard.

Pure functions on lists of ``unittest.TestCase`` instances; nothing here
imports the rest of the package, so building a suite stays cheap.
"""

from __future__ import annotations

import hashlib
import random
import unittest
from collections import OrderedDict

def iter_test_cases(tests):
    """Yield every TestCase of a (possibly nested) suite, in order."""
    for test in tests:
        if isinstance(test, unittest.TestCase):
            yield test
        elif isinstance(test, str):  # pragma: no cover - defensive
            raise TypeError("Test %r must be a TestCase or a TestSuite, not a string." % test)
        else:
            yield from iter_test_cases(test)


def class_key(test):
    cls = type(test)
    return "%s.%s" % (cls.__module__, cls.__qualname__)


def _is_subclass_named(test, name):
    """True when a class called ``name`` from this package is in the MRO.

    Checked by name so that building a suite does not import testcase.py.
    """
    for klass in type(test).__mro__:
        if klass.__name__ == name and klass.__module__.split(".")[0] == "flask_dbtestcase":
            return True
    return False


class Shuffler:
    """Django's shuffler: a seeded, reproducible order that does not depend
    on the order the tests were found in."""

    hash_algorithm = "md5"

    def __init__(self, seed=None):
        if seed is None:
            seed = random.randint(0, 10**10 - 1)
            self.seed_source = "generated"
        else:
            self.seed_source = "given"
        self.seed = seed

    @property
    def seed_display(self):
        return "%s (%s)" % (self.seed, self.seed_source)

    def _hash_text(self, text):
        try:
            h = hashlib.new(self.hash_algorithm, usedforsecurity=False)
        except TypeError:  # pragma: no cover - Python < 3.9
            h = hashlib.new(self.hash_algorithm)
        h.update(text.encode("utf-8"))
        return h.hexdigest()

    def shuffle(self, items, key):
        hashed = {}
        for item in items:
            digest = self._hash_text("%s%s" % (self.seed, key(item)))
            if digest in hashed:  # pragma: no cover - equal keys
                raise RuntimeError("item %r has the same hash as %r" % (item, hashed[digest]))
            hashed[digest] = item
        return [hashed[digest] for digest in sorted(hashed)]


def shuffle_tests(tests, shuffler):
    """Shuffle modules, classes within modules, tests within classes: tests
    of one class stay together so class fixtures run once."""
    by_module = OrderedDict()
    for test in tests:
        cls = type(test)
        by_module.setdefault(cls.__module__, OrderedDict()).setdefault(cls.__qualname__, []).append(test)
    for module in shuffler.shuffle(by_module, key=lambda m: m):
        classes = by_module[module]
        for cls_name in shuffler.shuffle(classes, key=lambda c: c):
            yield from shuffler.shuffle(classes[cls_name], key=lambda t: t.id())


def reorder_tests(tests, class_names, reverse=False, shuffler=None):
    """Group tests Django's way: bins in ``class_names`` order, then the rest;
    within a bin, tests of one class together; duplicates dropped."""
    if shuffler is not None:
        tests = shuffle_tests(tests, shuffler)
    bins = [OrderedDict() for _ in range(len(class_names) + 1)]
    seen = set()
    for test in tests:
        marker = (type(test), test.id())
        if marker in seen:
            continue
        seen.add(marker)
        for test_bin, name in zip(bins, class_names):
            if _is_subclass_named(test, name):
                break
        else:
            test_bin = bins[-1]
        test_bin.setdefault(type(test), []).append(test)
    for test_bin in bins:
        groups = list(test_bin.values())
        if reverse:
            groups.reverse()
        for group in groups:
            yield from (reversed(group) if reverse else group)


def partition_by_class(tests):
    """Split an ordered list of tests into runs of one class each."""
    groups = []
    for test in tests:
        if groups and type(groups[-1][-1]) is type(test):
            groups[-1].append(test)
        else:
            groups.append([test])
    return groups



def parse_shard(value):
    """``"K/N"`` (or ``(K, N)``) as ``(K, N)``, checking ``1 <= K <= N``;
    ValueError says what is wrong."""
    if isinstance(value, str):
        index, sep, total = value.partition("/")
        try:
            if not sep:
                raise ValueError
            value = (int(index), int(total))
        except ValueError:
            raise ValueError("%r is not K/N, e.g. 2/4 for the second of four shards" % value) from None
    index, total = value
    if not 1 <= index <= total:
        raise ValueError("shard %d/%d: K/N needs 1 <= K <= N" % (index, total))
    return index, total


def shard_tests(tests, index, total):
    """The tests of shard ``index`` (1-based) of ``total``.

    Whole classes are dealt out, so class fixtures run in one shard: the
    largest classes first (ties by dotted name) each to the shard with the
    fewest tests so far (ties to the lowest number). The result depends only
    on the classes' names and sizes, never on the discovery order or the
    machine, so every shard of one suite sees the same split: together they
    run every test exactly once.
    """
    sizes = OrderedDict()
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
