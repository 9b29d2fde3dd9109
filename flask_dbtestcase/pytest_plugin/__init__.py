"""The pytest plugin: fixtures on the test database, with the test case classes' isolation.

Registered by the ``pytest11`` entry point (:mod:`.plugin`); nothing happens
to a test that uses none of its fixtures (a project's own ``app``, ``db``...
win and are left alone). The jobs are split: :mod:`.plugin` (options,
markers, hooks), :mod:`.projectsettings` (the session's settings, from
pytest's rootdir, its ini key and options), :mod:`.marker` (the ``flask_db``
marker's arguments), :mod:`.usage` (which of its fixtures a test uses, read
from the fixture definitions in use), :mod:`.database` (the session's test
database), :mod:`.broker` (the one test database of a pytest-xdist run,
cloned for each worker), :mod:`.caseclasses` (the hidden test case
classes), :mod:`.casemanager` (which of them is open, and who may touch the
database when), :mod:`.apps` (the app fixture's app) and :mod:`.fixtures`.
"""

__all__: list[str] = []
