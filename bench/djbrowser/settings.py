"""Django settings for the browser benchmark: the bench server's socket directory and port.

``BENCH_PG_HOST`` / ``BENCH_PG_PORT`` name the throwaway server bench/browser.py
started; Django's test runner creates ``test_djbrowser`` on it itself.
"""

import os

SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.sessions", "djbrowser"]
MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
ROOT_URLCONF = "djbrowser.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "djbrowser",
        "USER": "postgres",
        "HOST": os.environ.get("BENCH_PG_HOST", ""),
        "PORT": os.environ.get("BENCH_PG_PORT", "5432"),
    }
}
STATIC_URL = "/django-static/"  # LiveServerTestCase needs one; the pages serve their own /static/
