"""Nested app.config values changed in place: each test checks the original, then changes it."""

from flask_dbtestcase import FlaskDBTestCase
from tests.appstate.stateapp import original_features


def check_then_mutate(app, config):
    assert config["FEATURES"] == original_features()
    assert config["ALLOWED_HOSTS"] == ["a.example"]
    assert app.extensions["features"] is config["FEATURES"]
    assert "ADDED" not in config
    config["FEATURES"]["beta"] = True
    config["FEATURES"]["limits"]["per_minute"] = 0
    config["FEATURES"]["limits"]["paths"].append("/b")
    config["ALLOWED_HOSTS"].append("evil.example")
    config["ADDED"] = {"x": 1}


def test_1_db(app, config, db):
    check_then_mutate(app, config)


def test_2_db(app, config, db):
    check_then_mutate(app, config)


def test_3_app_only(app):
    check_then_mutate(app, app.config)


def test_4_transactional(app, config, transactional_db):
    check_then_mutate(app, config)


class ConfigTests(FlaskDBTestCase):
    def test_6_in_a_class(self):
        check_then_mutate(self.app, self.app.config)

    def test_7_in_a_class(self):
        check_then_mutate(self.app, self.app.config)
