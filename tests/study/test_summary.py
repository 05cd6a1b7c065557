"""hybrid_plugin.study.summary: the seen / unseen-language split and the Markdown summary."""

from __future__ import annotations

import pytest

from hybrid_plugin.evaluation.results import MULTI, Cell, DatasetInfo, EvaluationResults, ModelInfo
from hybrid_plugin.study.summary import language_splits, summary_markdown


def _results(pairs: dict[str, float], multi: dict[str, float], languages: tuple[str, ...]) -> EvaluationResults:
    return EvaluationResults.from_cells(
        model=ModelInfo("m"), dataset=DatasetInfo("toy", languages),
        pairs=[Cell(*key.split("-"), {"map": value}, 1) for key, value in pairs.items()],
        multi=[Cell(x, MULTI, {"map": value}, 1, bias=1.0) for x, value in multi.items()])


def test_language_splits():
    results = _results(
        {"en-en": 0.9, "de-de": 0.7, "th-th": 0.4, "en-de": 0.6, "de-en": 0.5, "en-th": 0.2, "th-en": 0.3},
        {"en": 0.5, "de": 0.3, "th": 0.1}, ("en", "de", "th"))
    splits = language_splits(results, seen={"en", "de"})
    assert splits["seen"]["mono"] == pytest.approx(0.8)
    assert splits["unseen"]["mono"] == pytest.approx(0.4)
    assert splits["seen"]["cross"] == pytest.approx(0.55)
    assert splits["unseen"]["cross"] == pytest.approx(0.25)
    assert splits["seen"]["multi"] == pytest.approx(0.4) and splits["unseen"]["multi"] == pytest.approx(0.1)


def test_summary_markdown_orders_configs_and_formats_mean_std():
    stat = {"mean": 0.5, "std": None, "n": 1}
    row = {"n": 1, "map": {s: stat for s in ("mono", "cross", "multi")}, "measures": {},
           "bias": {"mean": 3.0, "std": 0.5, "n": 2}, "unseen_languages": [], "splits": {}}
    summary = {"note": "preset quick", "plan": {"directions": [["mlqa-r", "xquad-r"]]},
               "tables": {"xquad-r": {"hybrid-a0.5": row, "base": row, "xx": row}}, "significance": {}}
    text = summary_markdown(summary)
    assert "## xquad-r (models trained on mlqa-r)" in text
    lines = [line for line in text.splitlines() if line.startswith("| ") and "model" not in line]
    assert [line.split(" | ")[0] for line in lines] == ["| untuned base", "| X-X (α = 1)", "| hybrid (α = 0.5)"]
    assert "| 3.0 ± 0.5 |" in lines[0]
