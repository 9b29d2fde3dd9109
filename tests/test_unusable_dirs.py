"""Any environment: directories the run cannot use give way to one it can.

A read-only home (no ``~/.cache``), a cache directory another user owns
(left by a ``sudo`` run), a runtime directory that cannot be written: the
run falls back to a directory it can use and says so in one line; when
nothing is usable, it stops with one paragraph naming the setting to set.
Never a raw ``PermissionError`` traceback.

The read-only home needs a user the permissions apply to: as root the run
is made as ``nobody``, with a Python that user can execute.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import unittest

from flask_dbtestcase import settings, tag
from tests.support import ROOT, Project, app_source, clean_env

TESTS = """
from flask_dbtestcase import FlaskDBTestCase
from myapp import Thing, db


class ThingTests(FlaskDBTestCase):
    app_factory = "myapp:create_app"

    def test_write(self):
        db.session.add(Thing(name="one"))
        db.session.commit()
        self.assertEqual(Thing.query.count(), 1)
"""

FILES = {"myapp.py": app_source("dirs_thing"), "test_dirs.py": TESTS}


def _unprivileged() -> tuple[list[str], pwd.struct_passwd] | str:
    """The command running the runner as ``nobody`` (when root), and that user;
    or why no such run can be made here."""
    try:
        user = pwd.getpwnam("nobody")
    except KeyError:
        return "there is no user 'nobody'"
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    site = [p for p in sys.path if p.endswith("site-packages")]
    for python in (sys.executable, f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"):
        if not os.path.exists(python):
            continue
        try:
            probe = subprocess.run(
                [python, "-c", "import flask_dbtestcase, flask_sqlalchemy, psycopg2"],
                env=clean_env({"PYTHONPATH": os.pathsep.join([ROOT, *site])}),
                preexec_fn=_drop_to(user),
                capture_output=True,
                check=False,
            )
        except OSError:  # that user cannot execute it
            continue
        if probe.returncode == 0:
            return [python, "-m", "flask_dbtestcase"], user
    return (
        f"user 'nobody' cannot run a Python {version} that imports this checkout ({ROOT}) "
        "and its virtualenv"
    )


def _drop_to(user: pwd.struct_passwd):
    def preexec() -> None:
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)

    return preexec


class UnusableDirectoryTests(unittest.TestCase):
    def scratch(self, mode: int = 0o755) -> str:
        path = tempfile.mkdtemp(prefix="fdt-dirs-")
        self.addCleanup(shutil.rmtree, path, True)
        os.chmod(path, mode)
        return path

    def assert_one_line_fallback(self, result, *words: str) -> None:
        self.assertEqual(result.returncode, 0, result)
        self.assertNotIn("Traceback", result.output)
        lines = [ln for ln in result.stderr.splitlines() if ln.startswith("flask-dbtestcase:")]
        self.assertEqual(len(lines), 1, result)
        for word in words:
            self.assertIn(word, lines[0])

    @tag("slow")
    def test_read_only_home(self):
        home = self.scratch()
        env = {"HOME": home, "XDG_CACHE_HOME": None, settings.CACHE_DIR_ENV: None}
        if os.geteuid() != 0:
            os.chmod(home, 0o555)
            result = Project(self, FILES, env=env).run(["test_dirs"])
        else:
            found = _unprivileged()
            if isinstance(found, str):
                self.skipTest(found)
            command, user = found
            project = Project(self, FILES, env=env)
            for path in (project.dir, home):
                os.chown(path, user.pw_uid, user.pw_gid)
            os.chmod(home, 0o555)  # read-only for its owner
            site = [p for p in sys.path if p.endswith("site-packages")]
            env["PYTHONPATH"] = os.pathsep.join([ROOT, *site])
            result = project.run(
                ["test_dirs"], command=command, env=env, preexec_fn=_drop_to(user), clean=False
            )
        self.assert_one_line_fallback(
            result, f"cannot use the cache directory {home}/.cache", settings.CACHE_DIR_ENV
        )

    def test_cache_dir_owned_by_another_user(self):
        cache = self.scratch()
        other = pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else 0
        if os.geteuid() == 0:
            os.chown(cache, other, -1)  # as after another user's run
        else:
            cache = "/"  # owned by root: another user's
        result = Project(self, FILES, env={settings.CACHE_DIR_ENV: cache}).run(["test_dirs"])
        self.assert_one_line_fallback(result, f"cannot use the cache directory {cache}", "owned by")

    def test_runtime_dir_not_usable(self):
        parent = self.scratch()
        mine = os.path.join(parent, f"flask-dbtestcase-{os.geteuid()}")
        if os.geteuid() == 0:
            os.mkdir(mine)
            os.chown(mine, pwd.getpwnam("nobody").pw_uid, -1)  # not ours
        else:
            os.chmod(parent, 0o555)  # cannot be made
        project = Project(self, FILES, env={settings.RUNTIME_DIR_ENV: parent})
        result = project.run(["test_dirs"])
        self.assert_one_line_fallback(result, f"cannot use {mine}", settings.RUNTIME_DIR_ENV)

    def test_nothing_usable_for_the_cache(self):
        parent = self.scratch()
        runtime = os.path.join(parent, f"flask-dbtestcase-{os.geteuid()}")
        os.mkdir(runtime, 0o711)
        with open(os.path.join(runtime, "cache"), "w"):  # the fallback: not a directory
            pass
        not_a_dir = os.path.join(parent, "file")
        with open(not_a_dir, "w"):
            pass
        env = {settings.RUNTIME_DIR_ENV: parent, settings.CACHE_DIR_ENV: not_a_dir}
        result = Project(self, FILES, env=env).run(["test_dirs"])
        self.assertEqual(result.returncode, 2, result)  # the runner's exit code for an error
        self.assertNotIn("Traceback", result.output)
        self.assertIn("found no directory it can keep its cache in", result.output)
        self.assertIn(f"Set {settings.CACHE_DIR_ENV} to a directory", result.output)
