"""The pytest plugin, run as a user runs it: pytest on a sample project, in a subprocess.

tests/pytest_project is the sample: each of its tests starts by checking it
sees exactly the data it should (nothing, or its module's or class's shared
data) and then commits, through a fixture, the test and a request, so any
order of its tests proves that nothing leaks between tests, classes and
modules. Its tests append one JSON line each to a record file: which
process ran it, on which database and server. From those lines the tests
here check which database each run used, and that nothing is left behind.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import textwrap
import unittest

from flask_dbtestcase import tag
from tests.support import (
    ROOT,
    SYSTEM_SERVER,
    Project,
    Result,
    scratch_dir,
    server_available,
    system_sql,
)

HAVE_PYTEST = importlib.util.find_spec("pytest") is not None
HAVE_XDIST = importlib.util.find_spec("xdist") is not None
HAVE_RANDOMLY = importlib.util.find_spec("pytest_randomly") is not None

SAMPLE = os.path.join(ROOT, "tests", "pytest_project")
#: The sample's number of tests.
TESTS = 31
#: Plugins that would change the order or the output, unless a test asks for them.
QUIET = ["-p", "no:cacheprovider", "-p", "no:randomly"]


def sample_files(**extra: str) -> dict[str, str]:
    """The sample project's files (and ``extra`` ones), to write to a temporary directory."""
    files = {}
    for name in os.listdir(SAMPLE):
        if name.endswith((".py", ".toml")):
            with open(os.path.join(SAMPLE, name)) as f:
                files[name] = f.read()
    files.update({name: textwrap.dedent(text) for name, text in extra.items()})
    return files


class PluginRun(unittest.TestCase):
    """Runs of pytest on the sample project (or another small one)."""

    maxDiff = None

    def project(self, files: dict[str, str] | None = None, **kwargs) -> Project:
        project = Project(
            self, sample_files() if files is None else files, module="pytest", **kwargs
        )
        project.timeout = 300
        return project

    def run_pytest(
        self, project: Project, *args: str, env: dict | None = None
    ) -> tuple[Result, list[dict]]:
        record_file = os.path.join(project.dir, "records.jsonl")
        if os.path.exists(record_file):
            os.remove(record_file)
        result = project.run(["-v", *args], env={"RECORD_FILE": record_file, **(env or {})})
        records = []
        if os.path.exists(record_file):
            with open(record_file) as f:
                records = [json.loads(line) for line in f]
        return result, records

    def assertPassed(self, result: Result, count: int = TESTS) -> None:
        self.assertEqual(result.returncode, 0, result)
        self.assertIn(f"{count} passed", result.output)


@tag("slow")
@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed (pip install -e '.[test]')")
class OrderTests(PluginRun):
    """The sample passes in file order, reversed and shuffled: nothing leaks."""

    def test_file_order_and_reversed(self):
        project = self.project()
        for reverse in ("0", "1"):
            with self.subTest(reverse=reverse):
                result, records = self.run_pytest(project, *QUIET, env={"REVERSE": reverse})
                self.assertPassed(result)
                # One database for the session, shared by the test case class.
                self.assertEqual(len({r["database"] for r in records}), 1, records)
                self.assertEqual({r["pid"] for r in records}, {result.pid})
                classes = [r for r in records if "ThingTests" in r["test"]]
                self.assertEqual(len(classes), 2)

    @unittest.skipUnless(HAVE_RANDOMLY, "pytest-randomly is not installed")
    def test_random_order(self):
        project = self.project()
        for seed in ("1", "2"):
            with self.subTest(seed=seed):
                result, _ = self.run_pytest(
                    project, "-p", "no:cacheprovider", "-p", "randomly", f"--randomly-seed={seed}"
                )
                self.assertPassed(result)
                self.assertIn(f"--randomly-seed={seed}", result.output)


@tag("slow")
@unittest.skipUnless(HAVE_XDIST, "pytest-xdist is not installed (pip install -e '.[test]')")
class XdistTests(PluginRun):
    """-n 2: one server, the run's test database copied for each worker."""

    def test_a_database_per_worker(self):
        result, records = self.run_pytest(self.project(), *QUIET, "-n", "2")
        self.assertPassed(result)
        self.assertIn("[gw0] ", result.output)
        self.assertIn("[gw1] ", result.output)
        for r in records:
            self.assertIn(r["worker"], ("gw0", "gw1"), r)
            self.assertEqual(r["database"], f"test_db_{r['worker']}")
        self.assertEqual(len({r["data_directory"] for r in records}), 1, "more than one server")
        # The controller owned the server, and nothing of it is left.
        self.assertTrue(
            records[0]["data_directory"].split("/")[-2].startswith(f"srv-{result.pid}-")
        )


@tag("slow")
@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed (pip install -e '.[test]')")
class ReuseDBTests(PluginRun):
    """--reuse-db keeps the throwaway server's data, so the test database, to the next run."""

    def test_reuse_db_twice_then_create_db(self):
        cache = scratch_dir("fdtpc-", 0o755)  # the kept data lives in the cache directory
        self.addCleanup(shutil.rmtree, cache, True)
        project = self.project(private_runtime=True, cache=cache)
        oids = []
        for args in (["--reuse-db"], ["--reuse-db"], ["--reuse-db", "--create-db"]):
            result, records = self.run_pytest(project, *QUIET, *args, "test_later_module.py")
            self.assertPassed(result, 1)
            oids.append(records[0]["oid"])
        self.assertEqual(oids[0], oids[1], "--reuse-db did not reuse the database")
        self.assertNotEqual(oids[1], oids[2], "--create-db did not re-create the database")


@tag("slow")
@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed (pip install -e '.[test]')")
@unittest.skipUnless(server_available(), f"no PostgreSQL server at {SYSTEM_SERVER}")
class ExistingServerTests(PluginRun):
    """--database-url: test_<name> on that server, dropped at the end (the copies too)."""

    def leftover_databases(self, name: str) -> list[str]:
        rows = system_sql(f"SELECT datname FROM pg_database WHERE datname LIKE 'test_{name}%'")
        return [row[0] for row in rows]

    def test_database_url(self):
        name = f"fdt_plugin_{os.getpid()}"
        url = f"{SYSTEM_SERVER}/{name}"
        result, records = self.run_pytest(self.project(), *QUIET, "--database-url", url)
        self.assertPassed(result)
        self.assertEqual({r["database"] for r in records}, {f"test_{name}"})
        self.assertEqual(self.leftover_databases(name), [])

    @unittest.skipUnless(HAVE_XDIST, "pytest-xdist is not installed")
    def test_database_url_with_xdist(self):
        name = f"fdt_pluginx_{os.getpid()}"
        url = f"{SYSTEM_SERVER}/{name}"
        result, records = self.run_pytest(self.project(), *QUIET, "-n", "2", "--database-url", url)
        self.assertPassed(result)
        for r in records:
            self.assertEqual(r["database"], f"test_{name}_{r['worker']}")
        self.assertEqual(self.leftover_databases(name), [])


OWN_APP = {
    "conftest.py": """
        import pytest

        from myapp import create_app


        @pytest.fixture(scope="session")
        def app(flask_dbtestcase_config):
            return create_app({**flask_dbtestcase_config, "GREETING": "hello"})
    """,
    "test_own_app.py": """
        from myapp import Thing, names


        def test_built_on_the_test_configuration(app, db):
            assert app.config["GREETING"] == "hello"
            assert names() == []
            db.session.add(Thing(name="own"))
            db.session.commit()


        def test_isolated_too(db):
            assert names() == []
            db.session.add(Thing(name="own"))
            db.session.commit()
    """,
}

INERT = {
    "test_plain.py": """
        import glob
        import os
        import sys

        from flask_dbtestcase.postgres.directories import runtime_dir
        from flask_dbtestcase.settings import Settings


        def test_nothing_is_started():
            assert "flask_dbtestcase.cases.classes" not in sys.modules
            assert "sqlalchemy" not in sys.modules
            runtime = runtime_dir(Settings.load().server_config())
            assert glob.glob(os.path.join(runtime, f"srv-{os.getpid()}-*")) == []
    """,
}

#: Waits, while the test module loads, for a server of this process to appear.
_WAIT_FOR_A_SERVER = """
    import glob
    import os
    import time

    from flask_dbtestcase.postgres.directories import runtime_dir
    from flask_dbtestcase.settings import Settings

    RUNTIME = runtime_dir(Settings.load().server_config())


    def own_servers():
        return glob.glob(os.path.join(RUNTIME, f"srv-{os.getpid()}-*"))


    def postgres_children():
        children = []
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/stat") as f:
                    name, fields = f.read().rsplit(")", 1)
            except OSError:
                continue
            if int(fields.split()[1]) == os.getpid() and "postgres" in name:
                children.append(int(entry))
        return children


    # While this module loads, before any test asks for the database.
    deadline = time.monotonic() + 20
    while not own_servers() and time.monotonic() < deadline:
        time.sleep(0.02)
    STARTED = own_servers()
"""

EARLY = {
    "test_early.py": _WAIT_FOR_A_SERVER
    + """

    def test_the_server_started_while_the_tests_loaded(db):
        assert len(STARTED) == 1, "no server started while the module loaded"
        assert own_servers() == STARTED, "another server was started"
        assert db.engine.url.query["host"] == os.path.join(STARTED[0], "sock")
    """,
}

EARLY_UNUSED = {
    "test_plain.py": _WAIT_FOR_A_SERVER
    + """

    def test_the_server_is_stopped_when_no_test_needs_it():
        assert len(STARTED) == 1, "no server started while the module loaded"
        assert postgres_children() == []
    """,
}

MISTAKES = {
    "test_mistakes.py": """
        import pytest

        from myapp import Thing, db, names


        @pytest.fixture(scope="session")
        def leaky(app):
            with app.app_context():
                db.session.add(Thing(name="leaky"))
                db.session.commit()


        def test_session_fixture_writes(leaky, db):
            pass


        def test_too_many_queries(db, assert_num_queries):
            with assert_num_queries(0):
                names()
    """,
    "test_mixed_scopes.py": """
        import pytest

        from myapp import Thing


        @pytest.fixture(scope="module")
        def shared(module_db):
            module_db.session.add(Thing(name="shared"))
            module_db.session.commit()


        def test_shared(shared, db):
            pass


        def test_commits_for_real(transactional_db):
            pass
    """,
}


@tag("slow")
@unittest.skipUnless(HAVE_PYTEST, "pytest is not installed (pip install -e '.[test]')")
class FixtureTests(PluginRun):
    """The app of a project's own fixture; inertness; the errors a user sees."""

    def test_own_app_fixture_on_the_test_configuration(self):
        files = {k: v for k, v in sample_files(**OWN_APP).items() if k != "pyproject.toml"}
        files = {k: v for k, v in files.items() if not k.startswith("test_") or k in OWN_APP}
        result, _ = self.run_pytest(self.project(files), *QUIET)
        self.assertPassed(result, 2)

    def test_tests_without_the_fixtures_start_nothing(self):
        files = {name: textwrap.dedent(text) for name, text in INERT.items()}
        result, _ = self.run_pytest(self.project(files), *QUIET)
        self.assertPassed(result, 1)

    def test_the_server_starts_while_the_tests_load(self):
        """In a project whose pyproject.toml names the package, the throwaway server
        starts while the test modules load, and the tests run on it."""
        files = {k: v for k, v in sample_files().items() if not k.startswith("test_")}
        files.update({name: textwrap.dedent(text) for name, text in EARLY.items()})
        result, _ = self.run_pytest(self.project(files), *QUIET)
        self.assertPassed(result, 1)

    def test_a_server_started_early_is_stopped_when_no_test_needs_it(self):
        files = {k: v for k, v in sample_files().items() if not k.startswith("test_")}
        files.update({name: textwrap.dedent(text) for name, text in EARLY_UNUSED.items()})
        result, _ = self.run_pytest(self.project(files), *QUIET)
        self.assertPassed(result, 1)

    def test_the_package_is_left_out_of_assertion_rewriting(self):
        """pytest rewrites the asserts of a plugin's whole distribution, at a cost each
        session where no bytecode is written: the package's own modules are left out."""
        files = sample_files()
        files["test_rewrite.py"] = textwrap.dedent(
            """
            import sys

            def test_not_rewritten(db):
                loaders = {
                    name: type(module.__loader__).__name__
                    for name, module in list(sys.modules.items())
                    if name.startswith("flask_dbtestcase.") and getattr(module, "__loader__", None)
                }
                assert loaders["flask_dbtestcase.cases.classes"] != "AssertionRewritingHook"
                assert "AssertionRewritingHook" not in {
                    kind for name, kind in loaders.items() if ".databases." in name
                }
            """
        )
        result, _ = self.run_pytest(self.project(files), *QUIET, "test_rewrite.py")
        self.assertPassed(result, 1)

    def test_a_runner_option_in_pyproject_is_named(self):
        files = sample_files()
        files["pyproject.toml"] += "keepdb = true\n"
        result, _ = self.run_pytest(self.project(files), *QUIET)
        self.assertPassed(result)
        self.assertIn("does not read: keepdb", result.output)
        self.assertIn("--keepdb is --reuse-db", result.output)

    def test_mistakes_get_one_clear_message(self):
        files = {
            k: v for k, v in sample_files(**MISTAKES).items() if k in MISTAKES or "test_" not in k
        }
        result, _ = self.run_pytest(self.project(files), *QUIET)
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("1 failed, 1 passed, 2 errors", result.output)
        self.assertIn(
            "Database access not allowed outside the test: while "
            "test_mistakes.py::test_session_fixture_writes was being set up",
            result.output,
        )
        self.assertIn("1 queries executed, 0 expected", result.output)
        self.assertIn("SELECT plugin_things.name", result.output)
        self.assertIn(
            "test_mixed_scopes.py::test_commits_for_real really commits (transactional_db), "
            "but it runs inside the scope of the shared data of 'module_db'",
            result.output,
        )
        self.assertNotIn("During handling of the above exception", result.output)


if __name__ == "__main__":
    unittest.main()
