"""Nested ``app.config`` values changed in place, in pairs: nothing leaks to the next test.

Every test's setUp checks that the app's config is as the app was built
(``FEATURES``' nested dict and list, ``ALLOWED_HOSTS``, and the same
``FEATURES`` object an extension kept a reference to); then the test
changes them in place, as a test of a feature flag does. Whatever the order
(file order, reversed, shuffled, over ``--parallel`` workers), a test that
runs after a leak catches it, in its class or a later one. One class changes
the config in its setUpClass: its tests see that, the later classes do not.
tests/test_app_state.py runs this module in every order.
"""

from __future__ import annotations

import typing as t

from flask_dbtestcase import FlaskDBTestCase, FlaskDBTransactionTestCase
from tests.appstate.stateapp import CLIENT, LOCK, create_app, original_features


class ConfigCase(FlaskDBTestCase):
    app_factory = create_app
    #: What FEATURES["beta"] is in this class's tests.
    beta: t.ClassVar[object] = False

    def setUp(self) -> None:
        features = original_features()
        features["beta"] = self.beta
        config = self.app.config
        self.assertEqual(config["FEATURES"], features)
        self.assertEqual(config["ALLOWED_HOSTS"], ["a.example"])
        self.assertIs(self.app.extensions["features"], config["FEATURES"])
        self.assertNotIn("ADDED", config)
        # Locks and clients in a config dict are the app's own objects, never copies.
        self.assertEqual(
            config["CACHE_OPTIONS"], {"lock": LOCK, "client": CLIENT, "servers": ["s1"]}
        )
        self.assertIs(config["CACHE_OPTIONS"]["lock"], LOCK)
        self.assertIs(config["CACHE_OPTIONS"]["client"], CLIENT)

    def mutate(self) -> None:
        config = self.app.config
        config["FEATURES"]["beta"] = True
        config["FEATURES"]["limits"]["per_minute"] = 0
        config["FEATURES"]["limits"]["paths"].append("/b")
        config["ALLOWED_HOSTS"].append("evil.example")
        config["ADDED"] = {"x": 1}
        config["CACHE_OPTIONS"]["servers"].append("s2")
        config["CACHE_OPTIONS"]["lock"] = None

    def test_1_mutates_nested_values(self) -> None:
        self.mutate()
        self.assertTrue(self.app.extensions["features"]["beta"])

    def test_2_replaces_and_mutates(self) -> None:
        original = self.app.config["FEATURES"]
        self.mutate()
        self.app.config["FEATURES"] = {"beta": "replaced"}
        original["limits"].clear()


class LaterConfigTests(ConfigCase):
    def test_3_mutates_the_kept_reference(self) -> None:
        self.app.extensions["features"]["limits"]["paths"].clear()


class ClassHookConfigTests(ConfigCase):
    """Its setUpClass turns the flag on: its tests see it, later classes do not."""

    beta = "class"

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.app.config["FEATURES"]["beta"] = "class"


class TransactionConfigTests(FlaskDBTransactionTestCase):
    app_factory = create_app

    setUp = ConfigCase.setUp
    mutate = ConfigCase.mutate
    beta = False

    def test_mutates(self) -> None:
        self.mutate()
