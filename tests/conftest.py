"""pytest's own configuration for both tiers. Shared helpers live in tests/helpers.py, fixtures beside
the tests that use them; nothing here is imported by a test."""
