"""Checks the runner handed a working test database to the tests."""

import os
import unittest

import psycopg2
from sqlalchemy.engine import make_url


def connect():
    url = make_url(os.environ["FLASK_DBTESTCASE_DATABASE_URL"])
    args = dict(url.query)
    args.update(url.translate_connect_args(username="user", database="dbname"))
    return psycopg2.connect(**args)


class DatabaseFromRunner(unittest.TestCase):
    def test_database_is_set_and_usable(self):
        url = os.environ["FLASK_DBTESTCASE_DATABASE_URL"]
        print("DBURL=" + url)
        conn = connect()
        try:
            with conn, conn.cursor() as cur:
                cur.execute("SELECT current_database()")
                name = cur.fetchone()[0]
                print("DBNAME=" + name)
                self.assertTrue(name.startswith("test_"), name)
                cur.execute(
                    "CREATE TABLE IF NOT EXISTS runner_probe (id serial PRIMARY KEY, note text)"
                )
                cur.execute("INSERT INTO runner_probe (note) VALUES ('x')")
                cur.execute("SELECT count(*) FROM runner_probe")
                print(f"ROWS={cur.fetchone()[0]}")
        finally:
            conn.close()
