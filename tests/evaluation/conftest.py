"""Fixtures of the evaluation tests: small slices of XQuAD-R and MLQA-R, embeddings on a grid, an empty cache."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from hybrid_plugin.evaluation.encoding import EncodedQA


def grid_embeddings(qa, seed: int, dim: int = 12) -> EncodedQA:
    """Embeddings on a coarse grid (multiples of 1/8): every inner product is exact in float32 and float64, so a
    reference can recompute the scores exactly, and many of them tie (which exercises the docid tie-break)."""
    rng = np.random.default_rng(seed)

    def vectors(n: int) -> np.ndarray:
        return (rng.integers(-4, 5, size=(n, dim)) / 8).astype(np.float32)

    encoded = EncodedQA({lang: vectors(len(qa.questions[lang])) for lang in qa.languages},
                        {lang: vectors(len(qa.candidates[lang])) for lang in qa.languages})
    # make relevant candidates likelier to win, as with a real model: query = its positive's vector + noise
    for x in qa.languages:
        for i, qid in enumerate(qa.questions[x]):
            docid = qa.relevant[x][qid]
            j = next(k for k, c in enumerate(qa.candidates[x]) if c.docid == docid)
            if rng.random() < 0.5:
                encoded.queries[x][i] = encoded.passages[x][j]
    return encoded


@pytest.fixture(scope="session")
def grid() -> Callable[..., EncodedQA]:
    """:func:`grid_embeddings`: ``grid(qa, seed)``."""
    return grid_embeddings


@pytest.fixture(scope="module")
def xquad_slice(xquad):
    return xquad.select_languages(["en", "de", "zh", "ar"]).limit(30)


@pytest.fixture(scope="module")
def mlqa_slice(mlqa):
    return mlqa.limit(60)  # items exist in some languages only


