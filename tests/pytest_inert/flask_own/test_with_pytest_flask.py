import json
import sys
import urllib.request

import pytest
from flask import request, url_for


def test_pytest_flasks_client(client):
    assert client.get(url_for("public.home")) == 200  # pytest-flask's JSONResponse
    assert request.path == "/"


def test_pytest_flasks_config(config, app):
    assert config is app.config


@pytest.mark.options(debug=True)
def test_pytest_flasks_options_marker(app):
    assert app.debug


def test_pytest_flasks_accept_json(client, accept_json):
    assert client.get("/users", headers=accept_json).json == []


def test_pytest_flasks_live_server(live_server):
    assert type(live_server).__module__ == "pytest_flask.live_server"
    with urllib.request.urlopen(live_server.url("/users"), timeout=10) as resp:
        assert json.load(resp) == []


def test_nothing_of_the_plugin_was_built(client):
    assert "flask_dbtestcase.cases.classes" not in sys.modules
