"""Statements that need more than a test transaction gives, in pairs (tests/test_statements.py)."""
