"""The realistic suite as a Django project's tests module, for ``manage.py test``."""

import os

from .cases import DjangoTC, make_classes

for _cls in make_classes(
    DjangoTC,
    "suite",
    int(os.environ.get("BENCH_SUITE_TESTS", "300")),
    30,
    prefix="E2E",
    module=__name__,
):
    globals()[_cls.__name__] = _cls
del _cls
