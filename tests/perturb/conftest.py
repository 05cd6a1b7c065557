"""Shared pieces of the perturbation tests: a sample of real XQuAD-R questions (every script of the set)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def xquad_sample(xquad):
    """The first 150 items of XQuAD-R in its 11 languages (Latin, Cyrillic, Greek, Arabic, Devanagari, Thai, Han)."""
    return xquad.limit(150)
