"""A settings module, as cookiecutter-flask's ``settings.py``: the config is the
module's UPPERCASE names, and the factory is given the module's import path."""

from tests.mistakeapps import ELSEWHERE

SECRET_KEY = "not-a-secret"
SQLALCHEMY_DATABASE_URI = ELSEWHERE
