"""Connects to the database the runner gave this process."""

import os
import unittest

import psycopg2
from sqlalchemy.engine import make_url


def connect():
    url = make_url(os.environ["FLASK_DBTESTCASE_DATABASE_URL"])
    args = dict(url.query)
    args.update(url.translate_connect_args(username="user", database="dbname"))
    return psycopg2.connect(**args)

