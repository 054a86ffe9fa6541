"""Shared fixtures, and the numeric kernels every test process uses."""

from __future__ import annotations

import os
import platform

# Recorded competition scores (config.yaml baseline_score) depend on which BLAS and SIMD kernels run: the
# same code gives a different 4th digit under OpenBLAS's AVX2 (Haswell) and AVX-512 (SkylakeX) kernels.
# Pin the kernels every x86-64 CPU of the last decade has, before numpy loads, so a score recorded on one
# machine reproduces on another (docs/COMPETITIONS.md, "Recorded scores").
if platform.machine() in ("x86_64", "AMD64"):
    os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
    os.environ.setdefault("NPY_DISABLE_CPU_FEATURES", "AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX "
                                                      "AVX512_CNL AVX512_ICL AVX512_SPR")

import pytest  # noqa: E402


@pytest.fixture
def no_user_llm_env(monkeypatch, tmp_path):
    """Keep a developer's own LLM config file, endpoint, key and model out of a test."""
    monkeypatch.setenv("EVOFORGE_LLM_CONFIG", str(tmp_path / "no-llm-config.yaml"))
    for name in ("EVOFORGE_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
