from flask import request, url_for


def test_home_page(testapp):
    assert testapp.get("/").text == "Home"


def test_add_a_user(user, testapp):
    res = testapp.post(url_for("public.add_user"), {"username": "bar"}).follow()
    assert res.json == ["bar", "foo"]


def test_url_for_in_the_projects_own_request_context(app):
    assert url_for("public.users") == "/users"
    assert request.path == "/"


def test_no_fixture_at_all():
    assert 1 + 1 == 2
