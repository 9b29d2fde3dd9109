"""Connects to the database the runner gave this process."""

import os
import time

import psycopg2
from sqlalchemy.engine import make_url

from flask_dbtestcase.state import current_run


def connect():
    url = make_url(os.environ["FLASK_DBTESTCASE_DATABASE_URL"])
    args = dict(url.query)
    args.update(url.translate_connect_args(username="user", database="dbname"))
    return psycopg2.connect(**args)


def meet_another_worker(worker_id, timeout=20.0):
    """Wait until a worker other than this one has reached this point too.

    Each worker leaves a file named by its number in $PARALLEL_RENDEZVOUS.
    While this worker waits, the other worker takes the next class, so a run
    with two workers always has both running tests (without the wait, a
    loaded machine may let one worker take every class). Gives up after
    ``timeout`` seconds: the test then sees only one worker and says so.
    """
    directory = os.environ["PARALLEL_RENDEZVOUS"]
    open(os.path.join(directory, str(worker_id)), "w").close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if set(os.listdir(directory)) - {str(worker_id)}:
            return
        time.sleep(0.01)


def report_worker_database():
    """Print 'WORKER <id> DB <database>' for the test to check, in one write
    (workers share the pipe and PYTHONUNBUFFERED makes print() write twice),
    once another worker is running tests too."""
    conn = connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT current_database()")
            worker_id = current_run().databases.worker_id
            line = f"WORKER {worker_id} DB {cur.fetchone()[0]}\n"
            os.write(1, line.encode())
            meet_another_worker(worker_id)
    finally:
        conn.close()
