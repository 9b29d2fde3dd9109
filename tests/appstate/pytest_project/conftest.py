import os


def pytest_collection_modifyitems(items):
    if os.environ.get("REVERSE") == "1":  # pytest has no --reverse
        items.reverse()
