"""Tests of hybrid_plugin.analysis.leaderboard: configurations, seeds, the paper's rows, Markdown and CSV."""

from __future__ import annotations

import csv
import io
import statistics
from pathlib import Path

import pytest

from hybrid_plugin.analysis.leaderboard import ALL_COLUMNS, Column, configuration, leaderboard
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.evaluation.results import load_results

ROOT = Path(__file__).resolve().parents[2]


def test_leaderboard_aggregates_seeds_with_sample_std(seeded_runs):
    runs = seeded_runs
    board = leaderboard(runs)
    ours = [r for r in board.rows if r.source == "ours"]
    assert len(ours) == 4
    hybrid = next(r for r in ours if r.sampling == "hybrid" and r.dataset == "xquad-r")
    assert hybrid.n == 3 and hybrid.seeds == (1, 2, 3) and hybrid.alpha == 0.5
    monos = [r.map["mono"] for r in runs[:3]]
    mean, std = hybrid.values["mono_map"]
    assert mean == pytest.approx(statistics.fmean(monos))
    assert std == pytest.approx(statistics.stdev(monos))  # sample std (n - 1)
    assert std == pytest.approx(0.01)
    assert hybrid.values["bias"][0] == pytest.approx(299.0)
    single = next(r for r in ours if r.sampling == "xx")
    assert single.n == 1 and single.values["cross_map"][1] is None

    md = board.to_markdown()
    row = next(line for line in md.splitlines() if line.startswith("| e5-small | hybrid |"))
    assert f"{mean:.4f} ± {std:.4f}" in row
    assert "| 1,2,3 | 3 |" in row
    xx_row = next(line for line in md.splitlines() if line.startswith("| e5-small | X-X |"))
    assert "±" not in xx_row


def test_leaderboard_separates_configurations(make_record):
    a = make_record(sampling="hybrid", alpha=0.5, seed=1)
    b = a.with_training({**a.training, "steps": 500})  # another training length is another configuration
    c = make_record(sampling="hybrid", alpha=0.25, seed=1)
    d = make_record(sampling="hybrid", alpha=0.5, seed=2, limit=50)
    board = leaderboard([a, b, c, d], include_paper=False)
    assert [r.n for r in board.rows] == [1, 1, 1, 1]
    md = board.to_markdown()
    assert "| settings |" in md and "steps=500" in md and "steps=100" in md
    assert "## xquad-r (first 50 items)" in md


def test_leaderboard_groups_by_dataset_with_paper_rows(seeded_runs):
    md = leaderboard(seeded_runs).to_markdown()
    assert md.index("## xquad-r") < md.index("## mlqa-r")
    xquad = md[md.index("## xquad-r"):md.index("## mlqa-r")]
    assert xquad.count("(paper)*") == 6 and "*XLM-R (paper)* | X-X | 1 |" in xquad
    assert "*0.792* | *0.674* | *0.547* | – | – | – | *410.0* |" in xquad
    assert "*LaBSE (paper)* | hybrid | 0.5 |" in xquad
    assert "*0.686* | *0.681* | *0.579*" in md[md.index("## mlqa-r"):]
    assert "published figures" in md and "arXiv 2408.10536" in md
    assert "(paper)" not in leaderboard(seeded_runs, include_paper=False).to_markdown()
    # no results: the paper's tables alone
    assert leaderboard([]).to_markdown().count("(paper)*") == 12


def test_leaderboard_csv_parses_back(seeded_runs):
    runs = seeded_runs
    board = leaderboard(runs)
    rows = list(csv.DictReader(io.StringIO(board.to_csv())))
    assert len(rows) == len(board.rows) == 4 + 12
    assert {c.key for c in ALL_COLUMNS} <= set(rows[0])
    hybrid = next(r for r in rows if r["source"] == "ours" and r["sampling"] == "hybrid" and r["dataset"] == "xquad-r")
    assert hybrid["seeds"] == "1 2 3" and hybrid["n"] == "3" and hybrid["alpha"] == "0.5"
    assert float(hybrid["cross_map"]) == pytest.approx(statistics.fmean(r.map["cross"] for r in runs[:3]))
    assert float(hybrid["cross_map_std"]) == pytest.approx(0.01)
    assert float(hybrid["multi_R@10"]) == pytest.approx(0.61)
    paper = next(r for r in rows if r["source"] == "paper" and r["model"] == "LaBSE" and r["dataset"] == "mlqa-r"
                 and r["sampling"] == "xy")
    assert (float(paper["mono_map"]), float(paper["bias"]), paper["cross_R@1"]) == (0.671, 198.0, "")


def test_leaderboard_rejects_unknown_column():
    with pytest.raises(UsageError, match="unknown leaderboard column"):
        leaderboard([], columns=[Column("mono", "bias")])


def test_committed_sweep_leaderboard_is_reproduced():
    """benchmarks/reproduce/sweep: its 16 results give the committed leaderboard.md and .csv, byte for byte."""
    study = ROOT / "benchmarks" / "reproduce" / "sweep"
    runs = [load_results(p) for p in sorted((study / "eval").glob("**/results.json"))]
    assert len(runs) == 16
    board = leaderboard(runs)
    assert board.to_markdown() == (study / "leaderboard.md").read_text(encoding="utf-8")
    assert board.to_csv() == (study / "leaderboard.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("sampling", ["hybrid"], "'training.sampling' must be a string"),
    ("alpha", "half", "'training.alpha' must be a number in \\[0, 1\\] or null"),
    ("alpha", 2.0, "'training.alpha' must be a number in \\[0, 1\\]"),
    ("alpha", True, "'training.alpha'"),
    ("train_dataset", 7, "'training.train_dataset' must be a string or null"),
])
def test_configuration_rejects_malformed_training(make_record, field, value, message):
    record = make_record(sampling="hybrid", alpha=0.5, seed=1)
    bad = record.with_training({**record.training, field: value})
    with pytest.raises(DataError, match=message) as info:
        leaderboard([record, bad])
    assert "e5-small on xquad-r" in str(info.value) and "\n" not in str(info.value)
    assert configuration(record).alpha == 0.5


def test_configuration_rejects_malformed_limit(make_results, record_of):
    data = make_results()
    data["dataset"]["limit"] = "fifty"
    with pytest.raises(DataError, match="'dataset.limit' must be an integer"):
        leaderboard([record_of(data)])
