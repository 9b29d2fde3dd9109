"""Small Flask apps that each make one mistake a new user makes (see tests/test_mistakes.py).

Each app points its own database at :data:`ELSEWHERE`, a socket directory
that does not exist: had flask-dbtestcase tried to use the app's own
database instead of refusing, the test would see a connection error.
"""

#: The app's own database: a server that cannot be reached.
ELSEWHERE = "postgresql://postgres@/mistake_app_db?host=/nonexistent/flask-dbtestcase-mistakes"
