"""The test suite, one folder per package under test (see conftest.py for the placement rule)."""
