"""Tests of hybrid_plugin.analysis.paper: the paper's reference rows."""

from __future__ import annotations

from hybrid_plugin.analysis.paper import PAPER_ROWS, SAMPLING_NAMES


def test_paper_rows_are_the_design_figures():
    assert len(PAPER_ROWS) == 12
    rows = {(r.base, r.sampling, r.dataset): r for r in PAPER_ROWS}
    assert tuple(rows["XLM-R", "xx", "xquad-r"])[3:] == (0.792, 0.674, 0.547, 410.0)
    assert tuple(rows["XLM-R", "hybrid", "mlqa-r"])[3:] == (0.648, 0.623, 0.512, 227.0)
    assert tuple(rows["LaBSE", "xy", "xquad-r"])[3:] == (0.801, 0.762, 0.679, 225.0)
    assert tuple(rows["LaBSE", "hybrid", "mlqa-r"])[3:] == (0.686, 0.681, 0.579, 195.0)
    assert rows["LaBSE", "hybrid", "xquad-r"].alpha == 0.5 and rows["XLM-R", "xy", "mlqa-r"].alpha == 0.0


def test_every_paper_sampling_has_a_name():
    assert {r.sampling for r in PAPER_ROWS} <= set(SAMPLING_NAMES)
