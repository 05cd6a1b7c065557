"""Fixtures of the debias tests: random embeddings per role and language, small slices of MLQA-R (to fit on) and
XQuAD-R (to evaluate), transforms fitted with the tiny model, an empty plugin cache."""

from __future__ import annotations

import pytest
from debiaskit import TINY_FIT_LANGUAGES


@pytest.fixture(scope="session")
def fit_slice(mlqa):
    """What the tiny model's transforms are fitted on: MLQA-R in the tiny model's languages."""
    return mlqa.select_languages(TINY_FIT_LANGUAGES).limit(40)


@pytest.fixture(scope="session")
def eval_slice(xquad):
    """What they are evaluated on: XQuAD-R (other text) in the same languages."""
    return xquad.select_languages(TINY_FIT_LANGUAGES).limit(8)


@pytest.fixture(scope="session")
def tiny_transforms(tiny_model, fit_slice):
    """``{method: transform}`` fitted with the tiny model on :func:`fit_slice` (no cache)."""
    from hybrid_plugin.debias.fitting import fit_debias

    ranks = {"center": None, "lir": 2, "lsar": 2}
    return {m: fit_debias(str(tiny_model), fit_slice, method=m, rank=r, per_language=20, cache=False,
                          show_progress=False) for m, r in ranks.items()}
