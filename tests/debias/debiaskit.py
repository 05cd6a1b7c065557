"""Helpers of the debias tests (imported by them and by their conftest): random embeddings with a language bias,
a fit source and a model record."""

from __future__ import annotations

import numpy as np

from hybrid_plugin.debias.transform import ROLES, FitSource, FittedModel

TINY_FIT_LANGUAGES = ("en", "de", "es")


def random_embeddings(seed: int, *, languages=("en", "de", "zh"), rows: int = 12, dim: int = 8,
                      scales: bool = False) -> dict[str, dict[str, np.ndarray]]:
    """Embeddings per role and language, each language shifted by its own offset (a language bias); with
    ``scales``, columns shrink geometrically so that singular values are well apart."""
    rng = np.random.default_rng(seed)
    weights = 2.0 ** -np.arange(dim) if scales else np.ones(dim)
    return {role: {lang: rng.normal(size=(rows, dim)) * weights + 3 * rng.normal(size=dim) for lang in languages}
            for role in ROLES}


SOURCE = FitSource("toy", "0" * 64, description="random")
MODEL = FittedModel("toy-model", None, "d" * 64, {"query": "query: ", "passage": "passage: "})
