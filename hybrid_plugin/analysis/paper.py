"""The published figures of arXiv 2408.10536 that the leaderboard shows for reference, and the names of the
three kinds of training batches.

Example::

    >>> row = next(r for r in PAPER_ROWS if (r.base, r.sampling, r.dataset) == ("LaBSE", "hybrid", "xquad-r"))
    >>> row.multi, row.bias, row.alpha
    (0.682, 221.0, 0.5)
"""

from __future__ import annotations

from typing import Literal, NamedTuple

__all__ = ["PAPER", "PAPER_ROWS", "SAMPLING_NAMES", "PaperRow", "Sampling"]

PAPER = "arXiv 2408.10536"
"""The paper the reference rows come from."""

Sampling = Literal["xx", "xy", "hybrid"]

SAMPLING_NAMES = {"xx": "X-X", "xy": "X-Y", "hybrid": "hybrid", "base": "untuned"}
"""Display names of ``training.sampling`` (``"base"``: a model without training)."""


class PaperRow(NamedTuple):
    """One row of the paper's Table 1 (mAP over the full ranking) and Table 2 (language bias, multi setting)."""

    base: Literal["XLM-R", "LaBSE"]
    sampling: Sampling
    dataset: Literal["xquad-r", "mlqa-r"]
    mono: float
    cross: float
    multi: float
    bias: float

    @property
    def alpha(self) -> float:
        """The share of X-X batches: 1 for X-X, 0 for X-Y, 0.5 for hybrid (the paper's best)."""
        return {"xx": 1.0, "xy": 0.0, "hybrid": 0.5}[self.sampling]


def _paper_rows() -> tuple[PaperRow, ...]:
    # base, sampling, (XQuAD-R mono, cross, multi), (MLQA-R mono, cross, multi), (bias XQuAD-R, bias MLQA-R)
    table = [
        ("XLM-R", "xx", (0.792, 0.674, 0.547), (0.648, 0.584, 0.473), (410, 288)),
        ("XLM-R", "xy", (0.755, 0.700, 0.593), (0.626, 0.620, 0.508), (295, 227)),
        ("XLM-R", "hybrid", (0.798, 0.705, 0.593), (0.648, 0.623, 0.512), (287, 227)),
        ("LaBSE", "xx", (0.808, 0.752, 0.652), (0.681, 0.656, 0.550), (262, 225)),
        ("LaBSE", "xy", (0.801, 0.762, 0.679), (0.671, 0.677, 0.576), (225, 198)),
        ("LaBSE", "hybrid", (0.817, 0.767, 0.682), (0.686, 0.681, 0.579), (221, 195)),
    ]
    rows = []
    for base, sampling, xquad, mlqa, (bias_xquad, bias_mlqa) in table:
        rows.append(PaperRow(base, sampling, "xquad-r", *xquad, float(bias_xquad)))
        rows.append(PaperRow(base, sampling, "mlqa-r", *mlqa, float(bias_mlqa)))
    return tuple(rows)


PAPER_ROWS: tuple[PaperRow, ...] = _paper_rows()
"""Table 1 / Table 2 of arXiv 2408.10536 (DESIGN.md), one record per base × sampling × dataset."""
