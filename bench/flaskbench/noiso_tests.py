"""The realistic suite on the no-isolation reference, for ``python -m unittest``.

The same tests as ``e2e_tests`` (unique rows, nothing cleaned up), on
``BENCH_FLASK_DATABASE_URL``: what the Flask stack itself costs end to end.
"""

import os

from .cases import NoIsolation, make_classes

_n = int(os.environ.get("BENCH_SUITE_TESTS", "300"))
for _cls in make_classes(NoIsolation, "suite", _n, 30, prefix="E2E"):
    _cls.__module__ = __name__
    globals()[_cls.__name__] = _cls
del _cls
