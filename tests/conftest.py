"""Shared fixtures: where the evaluation data lie (../shared/data beside the project, as in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HYBRID_PLUGIN_TEST_DATA", ROOT.parent / "shared" / "data"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "xquad-r" / "en.json").is_file():
        pytest.fail(f"evaluation data not found at {SHARED_DATA} (set HYBRID_PLUGIN_TEST_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def xquad(shared_data):
    from hybrid_plugin.data import load_parallel_qa

    return load_parallel_qa("xquad-r", data=shared_data / "xquad-r")


@pytest.fixture(scope="session")
def mlqa(shared_data):
    from hybrid_plugin.data import load_parallel_qa

    return load_parallel_qa("mlqa-r", data=shared_data / "mlqa-r")


@pytest.fixture(scope="session")
def default_model_path() -> str:
    """The embedded default model, built once into the user's cache (seconds when already there)."""
    from hybrid_plugin.models import resolve_model

    return resolve_model(None)
