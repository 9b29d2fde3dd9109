"""The app fixture's app is the one the settings name; $EXPECTED says which factory.

The project's directory is not on sys.path when pytest runs from its parent:
the plugin puts it there to import the factory, as ``flask`` does with the
current directory, so ``myapp`` is imported inside the test.
"""

import os


def test_the_factory_named(app, db):
    from myapp import Thing

    assert app.config["WHICH"] == os.environ["EXPECTED"]
    thing = Thing(name="x")
    db.session.add(thing)
    db.session.commit()
    assert db.session.query(Thing).count() == 1
