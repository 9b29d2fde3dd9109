"""Counting and capturing the statements a block sends."""

from myapp import Thing, names


def test_assert_num_queries(db, assert_num_queries):
    with assert_num_queries(1):
        names()
    with assert_num_queries(2):
        db.session.add(Thing(name="counted"))
        db.session.flush()
        names()


def test_assert_max_num_queries(db, assert_max_num_queries):
    with assert_max_num_queries(3):
        names()


def test_capture_queries(db, client, capture_queries):
    with capture_queries() as queries:
        client.get("/things")
    assert len(queries) == 1
    assert "plugin_things" in queries[0].statement
