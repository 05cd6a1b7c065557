"""How much a perturbation changed a text: the Levenshtein distance over characters or words, and the character
error rate (distance / length of the original), the measure ``typos`` and ``keyboard`` target.

Written here rather than taken from a library because none of the project's dependencies computes it (textnoisr
measures with the ``evaluate`` package's metrics, a heavy extra); the dynamic programme is vectorised by rows with
numpy (insertions closed with a running minimum), so a full XQuAD-R setting is measured in well under a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["character_error_rate", "edit_distance", "mean_character_error_rate"]


def edit_distance(a: Sequence[object], b: Sequence[object]) -> int:
    """Levenshtein distance (insert, delete, substitute; each costs 1) between two sequences of characters or
    words.

    Example::

        edit_distance("kitten", "sitting")                   # 3
        edit_distance("who wrote it".split(), ["who", "it"])  # 1
    """
    codes: dict[object, int] = {}
    x = np.array([codes.setdefault(t, len(codes)) for t in a], dtype=np.int64)
    y = np.array([codes.setdefault(t, len(codes)) for t in b], dtype=np.int64)
    if not len(x) or not len(y):
        return int(max(len(x), len(y)))
    steps = np.arange(len(y) + 1)
    row = steps.copy()
    for i, token in enumerate(x, start=1):
        best = np.empty_like(row)
        best[0] = i
        best[1:] = np.minimum(row[1:] + 1, row[:-1] + (y != token))  # deletion, substitution or match
        row = np.minimum.accumulate(best - steps) + steps  # insertions: best[j] = min_k (best[k] + j - k)
    return int(row[-1])


def character_error_rate(original: str, perturbed: str) -> float:
    """Levenshtein distance over characters divided by the original's length (0 for two empty texts)."""
    return edit_distance(original, perturbed) / max(len(original), 1)


def mean_character_error_rate(pairs: Iterable[tuple[str, str]]) -> float:
    """The mean over texts of their character error rates (textnoisr's unbiasing makes each text's expected rate
    the level), 0.0 when there is nothing."""
    rates = [character_error_rate(original, perturbed) for original, perturbed in pairs]
    return float(np.mean(rates)) if rates else 0.0
