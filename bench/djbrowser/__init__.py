"""The example blog's pages on Django, for LiveServerTestCase (bench/browser.py)."""
