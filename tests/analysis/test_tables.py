"""Tests of hybrid_plugin.analysis.tables: ``results.md`` of one evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybrid_plugin.analysis.tables import markdown_table, write_markdown_table
from hybrid_plugin.evaluation.results import load_results

ROOT = Path(__file__).resolve().parents[2]


def test_write_markdown_table(tmp_path, make_record):
    data = make_record(sampling="hybrid", alpha=0.5, seed=1)
    path = write_markdown_table(data, tmp_path / "sub" / "results.md")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# e5-small on xquad-r\n")
    assert "Trained with hybrid batches (alpha 0.5, seed 1, train_dataset mlqa-r)." in text
    lines = text.splitlines()
    mono = next(line for line in lines if line.startswith("| mono |"))
    m = data.map["mono"]
    assert mono == f"| mono | {m:.4f} | {m - 0.1:.4f} | {m + 0.1:.4f} | {m:.4f} | {m:.4f} |"
    assert "**300.0**" in text
    # pair matrix: header in dataset order, mono in bold on the diagonal, cross mean in the last column
    assert "| query \\ pool | en | de | zh | cross mean |" in lines
    de_row = next(line for line in lines if line.startswith("| de |") and "**" in line)
    cells = [c.strip() for c in de_row.strip("|").split("|")]
    assert cells == ["de", "0.5900", "**0.8000**", "0.5700", f"{(0.59 + 0.57) / 2:.4f}"]
    assert "| zh | 0.5200 | 0.0500 | 0.4000 | 0.4500 | 0.5000 | 292.0 |" in lines
    assert not list(tmp_path.glob("sub/.*"))  # no temporary file left


@pytest.mark.parametrize(("training", "line"), [
    ({"train_set": None, "config": "base", "seed": 0, "languages": ["en"]}, "The untuned base model."),
    ({"train_set": "mlqa-r", "config": "xx", "seed": 0, "languages": ["en"]}, "Model xx trained on mlqa-r (seed 0)."),
])
def test_a_study_record_of_the_model_names_it_without_a_sampling(tmp_path, make_results, record_of, training, line):
    """The low-resource study records which model of a study it ran (no ``sampling``): named, not "None batches"."""
    data = make_results()
    data["training"] = training
    text = write_markdown_table(record_of(data), tmp_path / "r.md").read_text(encoding="utf-8")
    assert text.splitlines()[2] == line and "None" not in text


def test_write_markdown_table_without_measures(tmp_path, make_results, record_of):
    data = make_results()
    del data["measures"]
    text = write_markdown_table(record_of(data), tmp_path / "r.md").read_text(encoding="utf-8")
    assert f"| cross | {data['map']['cross']:.4f} | – | – | – | – |" in text


def test_write_markdown_table_without_bias(tmp_path, make_results, record_of):
    data = make_results()
    data["bias"] = None
    text = write_markdown_table(record_of(data), tmp_path / "r.md").read_text(encoding="utf-8")
    assert "lower is better): **–**" in text


@pytest.mark.parametrize("folder", ["results/base-e5-small/xquad-r", "results/bm25/mlqa-r",
                                    "reproduce/full/eval/xquad-r/hybrid-a0.5/seed1"])
def test_committed_tables_are_reproduced(tmp_path, folder):
    """The committed results.md files were written from their results.json: the same bytes again."""
    committed = ROOT / "benchmarks" / folder
    path = write_markdown_table(load_results(committed / "results.json"), tmp_path / "results.md")
    assert path.read_bytes() == (committed / "results.md").read_bytes()


def test_markdown_table_escapes_and_aligns():
    table = markdown_table(["a", "b"], [["x|y", "line\nbreak"]], align=["r", "l"])
    assert table.splitlines() == ["| a | b |", "|---:|---|", "| x\\|y | line break |"]
