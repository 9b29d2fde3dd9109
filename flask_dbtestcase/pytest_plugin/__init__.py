"""The pytest plugin: fixtures on the test database, with the test case classes' isolation.

Registered by the ``pytest11`` entry point (:mod:`.plugin`); nothing happens
in a pytest run unless a test asks for one of its fixtures. The jobs are
split: :mod:`.plugin` (options, markers, hooks), :mod:`.database` (the
session's test database), :mod:`.broker` (the one test database of a
pytest-xdist run, cloned for each worker), :mod:`.cases` (the hidden test
case classes and who may touch the database when), :mod:`.apps` (the app
fixture's app) and :mod:`.fixtures`.
"""

__all__: list[str] = []
