"""The Django side of bench/transactional.py: the same 30 tables and test body, on Django."""
