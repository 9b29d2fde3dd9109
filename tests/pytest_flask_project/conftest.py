import os

import flask
import pytest

if os.environ.get("OWN_APP") == "1":
    from myapp import create_app

    @pytest.fixture(scope="session")
    def app(flask_dbtestcase_config):
        return create_app({**flask_dbtestcase_config, "OWN_APP": True})


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Every context a test's fixtures pushed is popped, in order, by the end of its scope."""
    result = yield
    assert not flask.has_request_context(), f"{item.nodeid} left a request context"
    if nextitem is None or nextitem.module is not item.module:
        assert not flask.has_app_context(), f"an app context outlived {item.module.__name__}"
    return result
