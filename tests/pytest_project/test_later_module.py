"""A later module: nothing any other module committed is here."""

from myapp import Thing, names


def test_nothing_leaked_into_a_later_module(db, record):
    assert names() == []
    db.session.add(Thing(name="later"))
    db.session.commit()
    record(db.session)
