"""Records what a run's test database is, for the --keepdb tests: appends
'<database oid> <real data directory> <runs so far>' to $KEEPDB_RECORD,
where 'runs so far' counts the rows of a table that every run adds one to."""

import os
import unittest

import psycopg2
from sqlalchemy.engine import make_url


def connect():
    url = make_url(os.environ["FLASK_DBTESTCASE_DATABASE_URL"])
    args = dict(url.query)
    args.update(url.translate_connect_args(username="user", database="dbname"))
    return psycopg2.connect(**args)


class Record(unittest.TestCase):
    def test_record(self):
        conn = connect()
        try:
            with conn, conn.cursor() as cur:
                cur.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
                oid = cur.fetchone()[0]
                cur.execute("SHOW data_directory")
                data_dir = os.path.realpath(cur.fetchone()[0])
                cur.execute("CREATE TABLE IF NOT EXISTS keep_runs (id serial PRIMARY KEY)")
                cur.execute("INSERT INTO keep_runs DEFAULT VALUES")
                cur.execute("SELECT count(*) FROM keep_runs")
                runs = cur.fetchone()[0]
        finally:
            conn.close()
        with open(os.environ["KEEPDB_RECORD"], "a") as f:
            f.write(f"{oid} {data_dir} {runs}\n")
