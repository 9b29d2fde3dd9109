"""The mistakes of a new user's first hour, each answered specifically.

Every answer is one paragraph in plain words: what went wrong, what to do.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import sys
import tempfile
import unittest
import warnings
from unittest import mock

import sqlalchemy as sa

from flask_dbtestcase import FlaskDBTestCase
from flask_dbtestcase.cases.factory import resolve_factory
from flask_dbtestcase.databases import schema
from flask_dbtestcase.errors import ConfigurationError, DBTestCaseError, UnsafeDatabaseError
from flask_dbtestcase.settings import Settings, read_pyproject
from tests.mistakeapps import missingenv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: tests/mistakeapps/brokenimport.py: importing it fails, so it is named by path.
BROKEN_IMPORT = os.path.join(ROOT, "tests", "mistakeapps", "brokenimport.py")
#: The variable brokenimport.py reads when imported.
BROKEN_IMPORT_VARIABLE = "FDT_MISTAKE_IMPORT_SETTING"


def run_classes(*classes: type) -> unittest.TestResult:
    suite = unittest.TestSuite(unittest.defaultTestLoader.loadTestsFromTestCase(c) for c in classes)
    result = unittest.TestResult()
    suite.run(result)
    return result


def line_of(path: str, text: str) -> int:
    """The number of the first line of the file ``path`` that contains ``text``."""
    with open(path) as f:
        return next(n for n, line in enumerate(f, 1) if text in line)


class PyprojectTests(unittest.TestCase):
    """A pyproject.toml that cannot be read is an error, not a silent {}."""

    def project(self, text: str) -> str:
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory)
        with open(os.path.join(directory, "pyproject.toml"), "w") as f:
            f.write(text)
        read_pyproject.cache_clear()
        self.addCleanup(read_pyproject.cache_clear)
        return directory

    def test_malformed_pyproject(self):
        directory = self.project('[tool.flask-dbtestcase]\napp_factory = "myapp:create_app\n')
        with self.assertRaises(ConfigurationError) as caught:
            Settings.load(environ={}, start=directory)
        message = str(caught.exception)
        path = os.path.join(os.path.realpath(directory), "pyproject.toml")
        self.assertIn(path, message)
        self.assertIn("is not valid TOML", message)
        self.assertIn("line 2", message)
        self.assertIn("Fix the file", message)
        self.assertNotIn("\n", message)

    def test_a_pyproject_that_never_names_us_is_not_parsed(self):
        # Not valid TOML, but it holds no settings of ours: the search goes on up.
        directory = self.project('[tool.black]\nline-length = "100\n')
        with mock.patch.dict(sys.modules, {"tomllib": None, "tomli": None}):
            self.assertEqual(read_pyproject(directory), {})

    def test_no_toml_parser(self):
        directory = self.project('[tool.flask-dbtestcase]\napp_factory = "myapp:create_app"\n')
        with mock.patch.dict(sys.modules, {"tomllib": None, "tomli": None}):
            with self.assertRaises(ConfigurationError) as caught:
                Settings.load(environ={}, start=directory)
        message = str(caught.exception)
        self.assertIn(os.path.join(os.path.realpath(directory), "pyproject.toml"), message)
        self.assertIn("has no TOML parser", message)
        self.assertIn("pip install tomli", message)
        self.assertNotIn("\n", message)
        read_pyproject.cache_clear()
        self.assertEqual(Settings.load(environ={}, start=directory).app_factory, "myapp:create_app")

    def test_tomli_is_a_dependency_before_python_3_11(self):
        parser = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
        with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
            dependencies = parser.load(f)["project"]["dependencies"]
        self.assertIn("tomli>=1.1; python_version < '3.11'", dependencies)


class MistakeTests(unittest.TestCase):
    """setUpClass of a class around one of the apps in tests/mistakeapps/.

    Each app makes one mistake, and points its own database at
    ``mistake_app_db`` on a server that cannot be reached: every refusal
    must come before anything connects to it.
    """

    def setUp(self):
        self.connects = []

        def record(dialect, connection_record, cargs, cparams):
            self.connects.append(dict(cparams))

        sa.event.listen(sa.engine.Engine, "do_connect", record)
        self.addCleanup(sa.event.remove, sa.engine.Engine, "do_connect", record)

    def case(self, app_factory: str, **attrs) -> type:
        return type(
            "MistakeCase",
            (FlaskDBTestCase,),
            {
                "__module__": __name__,
                "app_factory": app_factory,
                "test_x": lambda self: None,
                **attrs,
            },
        )

    def refused(self, app_factory: str, error: type[DBTestCaseError] = UnsafeDatabaseError) -> str:
        """setUpClass's error for a class using ``app_factory``, checked to be a plain paragraph."""
        cls = self.case(app_factory)
        try:
            with self.assertRaises(error) as caught:
                cls.setUpClass()
        finally:
            cls.doClassCleanups()
        self.assertEqual(cls.tearDown_exceptions, [])
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        self.assertNotIn("Traceback", message)
        self.assertEqual(
            [c for c in self.connects if c.get("dbname") == "mistake_app_db"],
            [],
            "something connected to the app's own database",
        )
        return message

    def assertMentions(self, message: str, *fragments: str) -> None:
        for fragment in fragments:
            self.assertIn(fragment, message)

    # -- an exception in the user's code points at the user's line ------------

    def test_exception_in_the_factory_names_the_users_line(self):
        with mock.patch.dict(os.environ):
            os.environ.pop(missingenv.VARIABLE, None)
            message = self.refused("tests.mistakeapps.missingenv:create_app", ConfigurationError)
        self.assertMentions(
            message,
            f"raised KeyError: '{missingenv.VARIABLE}'",
            f"(at {missingenv.__file__}:{line_of(missingenv.__file__, 'os.environ[VARIABLE]')})",
        )
        self.assertNotIn("<frozen", message)

    def test_exception_importing_the_factory_names_the_users_line(self):
        with mock.patch.dict(os.environ):
            os.environ.pop(BROKEN_IMPORT_VARIABLE, None)
            sys.modules.pop("tests.mistakeapps.brokenimport", None)
            message = self.refused("tests.mistakeapps.brokenimport:create_app", ConfigurationError)
        self.assertMentions(
            message,
            f"failed with KeyError: '{BROKEN_IMPORT_VARIABLE}'",
            f"(at {BROKEN_IMPORT}:{line_of(BROKEN_IMPORT, 'os.environ[VARIABLE]')})",
        )
        self.assertNotIn("<frozen", message)

    # -- an app, no factory ---------------------------------------------------

    def test_module_holding_an_app_but_no_factory(self):
        message = self.refused("tests.mistakeapps.appobject", ConfigurationError)
        self.assertMentions(
            message,
            "'tests.mistakeapps.appobject:app' is a Flask app that already exists, "
            "not an application factory",
            "def create_app(config=None)",
            'app_factory = "tests.mistakeapps.appobject:create_app"',
        )
        self.assertNotIn("has no 'create_app' or 'make_app' factory", message)

    def test_flask_app_forms_naming_a_module_with_an_app(self):
        as_path = os.path.join("tests", "mistakeapps", "appobject.py")  # FLASK_APP=app.py
        for spec in ("tests.mistakeapps.appobject", as_path):
            with self.subTest(spec=spec), self.assertRaises(ConfigurationError) as caught:
                resolve_factory(spec)
            self.assertIn("is a Flask app that already exists", str(caught.exception))

    # -- the test configuration arrives too late, or never --------------------

    def test_init_app_before_the_config_is_applied(self):
        message = self.refused("tests.mistakeapps.initfirst:create_app")
        self.assertMentions(
            message,
            "applied the test configuration too late",
            "its config has SQLALCHEMY_DATABASE_URI set to the test database",
            "mistake_app_db",
            "db.init_app(app) ran before the config was applied",
            "Flask-SQLAlchemy creates the engines in init_app",
            "move app.config.update(config) above db.init_app(app)",
        )

    def test_factory_ignoring_the_mapping_gets_the_general_answer(self):
        message = self.refused("tests.test_mistakes:stubborn")
        self.assertMentions(
            message,
            "ignored the test configuration",
            "mistake_app_db",
            "Nothing was run against it",
            "app.config.update(config)",
        )

    def test_factory_overriding_the_test_database(self):
        for factory, where, backend in (
            ("create_app", "mistake_app_db", ""),
            ("create_sqlite_app", "points at sqlite:///", " (a sqlite database: the tests need "),
        ):
            with self.subTest(factory=factory):
                message = self.refused(f"tests.mistakeapps.overrides:{factory}")
                self.assertMentions(
                    message,
                    "overrode the test configuration: the app factory "
                    f"'tests.mistakeapps.overrides:{factory}' applied the config mapping it "
                    "was given (TESTING is set), then set SQLALCHEMY_DATABASE_URI itself",
                    where,
                    backend,
                    "Nothing was run against it",
                    "app.config.update(config) below the line that sets SQLALCHEMY_DATABASE_URI",
                    'app.config.setdefault("SQLALCHEMY_DATABASE_URI", ...)',
                )
                self.assertNotIn("not a PostgreSQL URL", message)
                self.assertNotIn("ignored the test configuration", message)

    def test_factory_without_an_argument(self):
        message = self.refused("tests.mistakeapps.noarg:create_app")
        self.assertMentions(
            message,
            "never got the test configuration",
            "'tests.mistakeapps.noarg:create_app' takes no (positional) argument",
            "mistake_app_db",
            "Nothing was run against it",
            "def create_app(config=None)",
            "app.config.update(config or {})",
            "before db.init_app(app)",
        )

    def assertFromObjectAdvice(self, message: str, factory: str, config_object: str) -> None:
        self.assertMentions(
            message,
            "never got the test configuration",
            f"the app factory 'tests.mistakeapps.fromobject:{factory}' passed the config "
            "mapping to app.config.from_object()",
            "reads only the UPPERCASE attributes of an object, so the keys of a dict never arrive",
            f"'import types', 'import flask', 'from tests.mistakeapps.fromobject import {factory}'",
            "'def create_test_app(config):'",
            "'settings = flask.Config(\".\")'",
            f"'settings.from_object(\"{config_object}\")'",
            "'settings.update(config)'",
            f"'return {factory}(types.SimpleNamespace(**settings))'",
            'app_factory = "tests.factory:create_test_app"',
            "a class, a module or an import path",
        )
        self.assertNotIn("class TestConfig", message)

    def test_factory_passing_the_mapping_to_from_object(self):
        # The Mega-Tutorial's create_app(config_class=Config): with a dict in
        # place of the class the app has no database URI at all, and
        # Flask-SQLAlchemy's init_app raises.
        message = self.refused("tests.mistakeapps.fromobject:create_app", ConfigurationError)
        self.assertFromObjectAdvice(message, "create_app", "tests.mistakeapps.config.Config")
        self.assertMentions(
            message,
            "the factory failed with RuntimeError",
            "'SQLALCHEMY_DATABASE_URI' or 'SQLALCHEMY_BINDS' must be set",
        )

    def test_factory_passing_the_mapping_to_from_object_after_defaults(self):
        # A default URI first, then the named config object: the app is
        # built, against its own database.
        message = self.refused("tests.mistakeapps.fromobject:create_app_with_defaults")
        self.assertFromObjectAdvice(
            message, "create_app_with_defaults", "tests.mistakeapps.config.Config"
        )
        self.assertMentions(message, "mistake_app_db", "Nothing was run against it")

    def test_factory_given_a_settings_module(self):
        # cookiecutter-flask's create_app(config_object="my_flask_app.settings"):
        # a module, which a class cannot subclass.
        for factory in ("create_app_from_settings_path", "create_app_from_settings_module"):
            with self.subTest(factory=factory):
                message = self.refused(
                    f"tests.mistakeapps.fromobject:{factory}", ConfigurationError
                )
                self.assertFromObjectAdvice(message, factory, "tests.mistakeapps.settings")

    def test_the_adapter_shown_for_from_object_works(self):
        # The code of each refusal, run as it is written there: a class, an
        # import path of a class, of a module, and a module as the default.
        from tests.mistakeapps.fromobject import Post

        for factory, error in (
            ("create_app", ConfigurationError),
            ("create_app_with_defaults", UnsafeDatabaseError),
            ("create_app_from_settings_path", ConfigurationError),
            ("create_app_from_settings_module", ConfigurationError),
        ):
            with self.subTest(factory=factory):
                message = self.refused(f"tests.mistakeapps.fromobject:{factory}", error)
                adapter = adapter_from(message)

                class Adapted(FlaskDBTestCase):
                    app_factory = staticmethod(adapter)

                    def test_uses_the_test_database(self):
                        self.assertTrue(self.app.config["TESTING"])
                        self.assertEqual(self.app.config["SECRET_KEY"], "not-a-secret")
                        self.assertRowCount(Post, 0)

                result = run_classes(Adapted)
                self.assertTrue(result.wasSuccessful(), result.errors + result.failures)
                self.assertEqual(result.testsRun, 1)

    # -- the models are never imported ----------------------------------------

    def test_models_never_imported_warn_once(self):
        from tests.mistakeapps import unimported

        schema._WARNED_EMPTY.discard(unimported.db.metadata)  # another run in this process
        first = self.case("tests.mistakeapps.unimported:create_app")
        with self.assertWarns(UserWarning) as caught:
            result = run_classes(first)
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)
        message = str(caught.warning)
        self.assertMentions(
            message,
            "'tests.mistakeapps.unimported' has no models",
            "create_all creates none",
            "import your models module in the app factory",
        )
        second = self.case("tests.mistakeapps.unimported:create_app")
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            result = run_classes(second)
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)
        self.assertEqual([w for w in seen if "has no models" in str(w.message)], [])

    def test_an_app_with_models_does_not_warn(self):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            result = run_classes(self.case("tests.sampleapp:create_app"))
        self.assertTrue(result.wasSuccessful(), result.errors + result.failures)
        self.assertEqual([w for w in seen if "has no models" in str(w.message)], [])


def adapter_from(message: str):
    """The ``create_test_app`` a from_object refusal shows, built from its own text."""
    shown = message[message.index("tests/factory.py:") : message.index("; and name it")]
    lines = re.findall(r"'([^']*)'", shown)
    start = lines.index("def create_test_app(config):")
    source = "\n".join([*lines[: start + 1], *(f"    {line}" for line in lines[start + 1 :])])
    namespace: dict = {}
    exec(compile(source, "tests/factory.py", "exec"), namespace)
    return namespace["create_test_app"]


# The factories the tests above name as "tests.test_mistakes:<function>".


def stubborn(config):
    """A factory that takes the mapping and does nothing with it."""
    from tests.mistakeapps.initfirst import create_app

    return create_app()
