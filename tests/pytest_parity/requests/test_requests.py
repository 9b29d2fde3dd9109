"""app.config changed for one test.

Every test that changes app.config first checks it finds it as the factory
made it, so in any order a change that leaked would fail the next one.
"""

import pytest


def assert_config_untouched(app):
    assert app.config["GREETING"] == "hello"
    assert "ADDED" not in app.config


@pytest.mark.parametrize("run", [1, 2])
def test_config_fixture(config, app, client, db, run):
    assert config is app.config
    assert_config_untouched(app)
    config["GREETING"] = "changed"
    config["ADDED"] = run
    assert client.get("/things/x").json["greeting"] == "changed"


@pytest.mark.parametrize("run", [1, 2])
def test_app_config_in_a_db_test(app, db, run):
    assert_config_untouched(app)
    app.config.update(GREETING="changed", ADDED=run)


@pytest.mark.parametrize("run", [1, 2])
def test_app_config_in_an_app_test(app, run):
    assert_config_untouched(app)
    app.config.update(GREETING="changed", ADDED=run)
