"""The test cases layer: building the app on the test database, the test
case classes, their clients, fixtures, query capture and class data."""

__all__: list[str] = []
