"""Shared fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture
def no_user_llm_env(monkeypatch, tmp_path):
    """Keep a developer's own LLM config file, endpoint, key and model out of a test."""
    monkeypatch.setenv("EVOFORGE_LLM_CONFIG", str(tmp_path / "no-llm-config.yaml"))
    for name in ("EVOFORGE_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
