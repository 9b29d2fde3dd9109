"""Data made once for a class (class_db), rolled back when the class ends."""

import pytest
from myapp import Thing, names


class TestWithClassData:
    @pytest.fixture(scope="class")
    def carol(self, class_db):  # a plain method: @classmethod under it fails on Python 3.9
        class_db.session.add(Thing(name="carol"))
        class_db.session.commit()

    def test_starts_from_the_class_data(self, carol, db):
        assert names() == ["carol"]
        db.session.add(Thing(name="one"))
        db.session.commit()

    def test_starts_from_the_class_data_too(self, carol, db):
        assert names() == ["carol"]
        db.session.add(Thing(name="two"))
        db.session.commit()


class TestAfterTheClass:
    def test_the_class_data_is_gone(self, db):
        assert names() == []
