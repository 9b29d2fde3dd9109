"""The config class of :mod:`.fromobject`, as the Flask Mega-Tutorial's config.py."""

from tests.mistakeapps import ELSEWHERE


class Config:
    SECRET_KEY = "not-a-secret"
    SQLALCHEMY_DATABASE_URI = ELSEWHERE
