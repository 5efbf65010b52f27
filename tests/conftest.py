"""pytest's own configuration for both tiers: the fixtures more than one test file uses. Shared helper
functions live in tests/helpers.py; nothing here is imported by a test."""

import os

import pytest


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """The decoded-image cache in the test's own folder, never the user's."""
    monkeypatch.setenv("FCBASELINE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(autouse=True)
def no_mlflow_environment(monkeypatch):
    """The developer's own MLflow settings ($MLFLOW_TRACKING_URI, $MLFLOW_EXPERIMENT_NAME, ...) never
    send a test's runs anywhere: a test that wants them sets them."""
    for key in [key for key in os.environ if key.startswith("MLFLOW_") and "HTTP_REQUEST" not in key]:
        monkeypatch.delenv(key)
