"""Connects to the database the runner gave this process."""

import os
import time

import psycopg2
from sqlalchemy.engine import make_url

from flask_dbtestcase.state import STATE


def connect():
    url = make_url(os.environ["FLASK_DBTESTCASE_DATABASE_URL"])
    args = dict(url.query)
    args.update(url.translate_connect_args(username="user", database="dbname"))
    return psycopg2.connect(**args)



def report_worker_database():
    """Print 'WORKER <id> DB <database>' for the test to check, in one write
    (workers share the pipe and PYTHONUNBUFFERED makes print() write twice)."""
    conn = connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT current_database()")
            line = "WORKER %s DB %s\n" % (STATE.databases.worker_id, cur.fetchone()[0])
            os.write(1, line.encode())
            time.sleep(0.2)
    finally:
        conn.close()
