"""pytest's own configuration for both tiers: the fixtures more than one test file uses. Shared helper
functions live in tests/helpers.py; nothing here is imported by a test."""

import pytest


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """The decoded-image cache in the test's own folder, never the user's."""
    monkeypatch.setenv("FCBASELINE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"
