"""Django settings for bench/transactional.py: the bench server's socket directory and port.

``BENCH_PG_HOST`` / ``BENCH_PG_PORT`` name the throwaway server bench/transactional.py
started; :func:`djtransactional.cases.setup` creates ``test_djtransactional`` on it.
Only the bench's app is installed: its 30 tables are all the flush empties, as
the Flask side's 30 tables are all it puts back.
"""

import os

SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["djtransactional"]
MIDDLEWARE = []
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "djtransactional",
        "USER": os.environ.get("BENCH_PG_USER", "postgres"),
        "HOST": os.environ.get("BENCH_PG_HOST", ""),
        "PORT": os.environ.get("BENCH_PG_PORT", "5432"),
    }
}
