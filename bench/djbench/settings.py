"""Django settings for the benchmark: the bench server's socket dir and database.

``BENCH_PG_HOST`` is the throwaway server's unix socket directory; Django's
test runner creates ``test_<BENCH_DJANGO_DB>`` on it itself.
"""

import os

SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["djbench"]
MIDDLEWARE = []
ROOT_URLCONF = "djbench.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_DJANGO_DB", "djbench"),
        "USER": "postgres",
        "HOST": os.environ.get("BENCH_PG_HOST", ""),
        "PORT": "5432",
    }
}
