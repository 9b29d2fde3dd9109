"""The realistic suite as a user's test module, for ``python -m flask_dbtestcase``."""

import os

from .cases import FDT, make_classes

_n = int(os.environ.get("BENCH_SUITE_TESTS", "300"))
for _cls in make_classes(FDT, "suite", _n, 30, prefix="E2E"):
    _cls.__module__ = __name__
    globals()[_cls.__name__] = _cls
del _cls
