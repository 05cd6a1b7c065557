"""Tests of hybrid_plugin.reporting and the ``report`` command, on small hand-written results (synthetic numbers)."""

from __future__ import annotations

import copy
import csv
import io
import json
import statistics
from pathlib import Path

import pytest

from hybrid_plugin.cli import main
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.reporting import (
    ALL_COLUMNS,
    PAPER_ROWS,
    Column,
    leaderboard,
    load_results,
    plot_alpha_sweep,
    plot_pair_heatmap,
    split_pair,
    write_markdown_table,
)

LANGS = ["en", "de", "zh"]


def make_results(model="e5-small", sampling=None, alpha=None, seed=None, dataset="xquad-r", shift=0.0,
                 languages=LANGS, limit=None):
    """A results dict in the format `hybrid-plugin evaluate` writes; every number derives from ``shift``."""
    pairs = {}
    for i, q in enumerate(languages):
        for j, p in enumerate(languages):
            value = (0.8 if q == p else 0.6 - 0.01 * (i + j)) + shift
            pairs[f"{q}-{p}"] = {"map": value, "R@1": value - 0.1, "R@10": value + 0.1, "nDCG@10": value,
                                 "AP@1000": value, "queries": 5}
    mono = statistics.fmean(pairs[f"{q}-{q}"]["map"] for q in languages)
    cross = statistics.fmean(v["map"] for k, v in pairs.items() if len(set(k.split("-"))) == 2)
    multi = 0.5 + shift
    measures = {s: {"map": m, "R@1": m - 0.1, "R@10": m + 0.1, "nDCG@10": m, "AP@1000": m}
                for s, m in (("mono", mono), ("cross", cross), ("multi", multi))}
    results = {
        "model": {"name": model, "path": f"/models/{model}", "prompts": {"query": "query: ", "passage": "passage: "}},
        "dataset": {"name": dataset, "languages": list(languages), "checksum": "0" * 64, "sources": {},
                    "limit": limit, "items": 5, "questions": 5 * len(languages), "candidates": 40},
        "map": {"mono": mono, "cross": cross, "multi": multi},
        "bias": 300.0 - 100 * shift,
        "measures": measures,
        "pairs": pairs,
        "multi_by_language": {q: {"map": multi + 0.01 * i, "bias": 290.0 + i, "R@1": 0.05, "R@10": 0.4,
                                  "nDCG@10": 0.45, "AP@1000": multi} for i, q in enumerate(languages)},
        "per_query": {f"{q}-{p}": {f"q{k}": 0.5 for k in range(5)} for q in languages for p in languages},
        "files": {}, "versions": {"hybrid-plugin": "0.1.0"}, "timings": {"total": 1.0},
        "created": "2025-01-01T00:00:00+00:00",
    }
    if sampling is not None:
        results["training"] = {"sampling": sampling, "alpha": alpha, "seed": seed, "train_dataset": "mlqa-r",
                               "base_model": model, "steps": 100}
    return results


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------------------------
# paper rows


def test_paper_rows_are_the_design_figures():
    assert len(PAPER_ROWS) == 12
    rows = {(r.base, r.sampling, r.dataset): r for r in PAPER_ROWS}
    assert tuple(rows["XLM-R", "xx", "xquad-r"])[3:] == (0.792, 0.674, 0.547, 410.0)
    assert tuple(rows["XLM-R", "hybrid", "mlqa-r"])[3:] == (0.648, 0.623, 0.512, 227.0)
    assert tuple(rows["LaBSE", "xy", "xquad-r"])[3:] == (0.801, 0.762, 0.679, 225.0)
    assert tuple(rows["LaBSE", "hybrid", "mlqa-r"])[3:] == (0.686, 0.681, 0.579, 195.0)
    assert rows["LaBSE", "hybrid", "xquad-r"].alpha == 0.5 and rows["XLM-R", "xy", "mlqa-r"].alpha == 0.0


# ---------------------------------------------------------------------------------------------------------------
# load_results


def test_load_results_reads_file_and_folder(tmp_path):
    data = make_results()
    write_json(tmp_path / "results.json", data)
    assert load_results(tmp_path / "results.json") == data
    assert load_results(tmp_path) == data


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda r: r.pop("map"), "missing required field 'map'"),
    (lambda r: r["map"].pop("cross"), "missing required field map.'cross'"),
    (lambda r: r["model"].pop("name"), "model.'name'"),
    (lambda r: r.__setitem__("bias", "high"), "'bias' must be a finite number"),
    (lambda r: r["pairs"]["en-de"].__setitem__("map", None), "pairs.en-de.'map' must be a finite number"),
    (lambda r: r.__setitem__("pairs", {}), "'pairs' is empty"),
    (lambda r: r.__setitem__("per_query", [1]), "'per_query' must be an object"),
])
def test_load_results_names_file_and_field(tmp_path, mutate, message):
    data = make_results()
    mutate(data)
    path = write_json(tmp_path / "r.json", data)
    with pytest.raises(DataError, match=message) as info:
        load_results(path)
    assert str(path) in str(info.value)


def test_load_results_missing_and_malformed(tmp_path):
    with pytest.raises(DataError, match="results file not found"):
        load_results(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"map": ', encoding="utf-8")
    with pytest.raises(DataError, match="not a valid JSON file"):
        load_results(bad)
    write_json(bad, [1, 2])
    with pytest.raises(DataError, match="expected a JSON object"):
        load_results(bad)


def test_split_pair():
    assert split_pair("en-de", ["en", "de"]) == ("en", "de")
    assert split_pair("zh-cn-en", ["zh-cn", "en"]) == ("zh-cn", "en")
    assert split_pair("en-zh-cn", ["zh-cn", "en"]) == ("en", "zh-cn")
    assert split_pair("en-de", []) == ("en", "de")
    with pytest.raises(DataError):
        split_pair("en-fr", ["en", "de"])
    with pytest.raises(DataError):
        split_pair("ende", [])


# ---------------------------------------------------------------------------------------------------------------
# one results file: Markdown and heatmap


def test_write_markdown_table(tmp_path):
    data = make_results(sampling="hybrid", alpha=0.5, seed=1)
    path = write_markdown_table(data, tmp_path / "sub" / "results.md")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# e5-small on xquad-r\n")
    assert "Trained with hybrid batches (alpha 0.5, seed 1, train_dataset mlqa-r)." in text
    lines = text.splitlines()
    mono = next(line for line in lines if line.startswith("| mono |"))
    m = data["map"]["mono"]
    assert mono == f"| mono | {m:.4f} | {m - 0.1:.4f} | {m + 0.1:.4f} | {m:.4f} | {m:.4f} |"
    assert "**300.0**" in text
    # pair matrix: header in dataset order, mono in bold on the diagonal, cross mean in the last column
    assert "| query \\ pool | en | de | zh | cross mean |" in lines
    de_row = next(line for line in lines if line.startswith("| de |") and "**" in line)
    cells = [c.strip() for c in de_row.strip("|").split("|")]
    assert cells == ["de", "0.5900", "**0.8000**", "0.5700", f"{(0.59 + 0.57) / 2:.4f}"]
    assert "| zh | 0.5200 | 0.0500 | 0.4000 | 0.4500 | 0.5000 | 292.0 |" in lines
    assert not list(tmp_path.glob("sub/.*"))  # no temporary file left


def test_write_markdown_table_without_measures(tmp_path):
    data = make_results()
    del data["measures"]
    text = write_markdown_table(data, tmp_path / "r.md").read_text(encoding="utf-8")
    assert f"| cross | {data['map']['cross']:.4f} | – | – | – | – |" in text


def test_plot_pair_heatmap_writes_png(tmp_path):
    data = make_results(languages=["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"])
    del data["pairs"]["th-en"]  # a missing pair is left blank
    path = plot_pair_heatmap(data, tmp_path / "pairs.png")
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) > 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["pairs.png"]


# ---------------------------------------------------------------------------------------------------------------
# leaderboard


def seeded_runs():
    runs = [make_results(sampling="hybrid", alpha=0.5, seed=s, shift=d) for s, d in ((1, 0.00), (2, 0.02), (3, 0.01))]
    runs += [make_results(sampling="xx", alpha=1.0, seed=1, shift=-0.03), make_results()]
    runs += [make_results(sampling="hybrid", alpha=0.5, seed=1, dataset="mlqa-r", shift=0.05)]
    return runs


def test_leaderboard_aggregates_seeds_with_sample_std():
    runs = seeded_runs()
    board = leaderboard(runs)
    ours = [r for r in board.rows if r.source == "ours"]
    assert len(ours) == 4
    hybrid = next(r for r in ours if r.sampling == "hybrid" and r.dataset == "xquad-r")
    assert hybrid.n == 3 and hybrid.seeds == (1, 2, 3) and hybrid.alpha == 0.5
    monos = [r["map"]["mono"] for r in runs[:3]]
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


def test_leaderboard_separates_configurations():
    a = make_results(sampling="hybrid", alpha=0.5, seed=1)
    b = copy.deepcopy(a)
    b["training"]["steps"] = 500  # another training length is another configuration
    c = make_results(sampling="hybrid", alpha=0.25, seed=1)
    d = make_results(sampling="hybrid", alpha=0.5, seed=2, limit=50)
    board = leaderboard([a, b, c, d], include_paper=False)
    assert [r.n for r in board.rows] == [1, 1, 1, 1]
    md = board.to_markdown()
    assert "| settings |" in md and "steps=500" in md and "steps=100" in md
    assert "## xquad-r (first 50 items)" in md


def test_leaderboard_groups_by_dataset_with_paper_rows():
    md = leaderboard(seeded_runs()).to_markdown()
    assert md.index("## xquad-r") < md.index("## mlqa-r")
    xquad = md[md.index("## xquad-r"):md.index("## mlqa-r")]
    assert xquad.count("(paper)*") == 6 and "*XLM-R (paper)* | X-X | 1 |" in xquad
    assert "*0.792* | *0.674* | *0.547* | – | – | – | *410.0* |" in xquad
    assert "*LaBSE (paper)* | hybrid | 0.5 |" in xquad
    assert "*0.686* | *0.681* | *0.579*" in md[md.index("## mlqa-r"):]
    assert "published figures" in md and "arXiv 2408.10536" in md
    assert "(paper)" not in leaderboard(seeded_runs(), include_paper=False).to_markdown()
    # no results: the paper's tables alone
    assert leaderboard([]).to_markdown().count("(paper)*") == 12


def test_leaderboard_csv_parses_back():
    runs = seeded_runs()
    board = leaderboard(runs)
    rows = list(csv.DictReader(io.StringIO(board.to_csv())))
    assert len(rows) == len(board.rows) == 4 + 12
    assert {c.key for c in ALL_COLUMNS} <= set(rows[0])
    hybrid = next(r for r in rows if r["source"] == "ours" and r["sampling"] == "hybrid" and r["dataset"] == "xquad-r")
    assert hybrid["seeds"] == "1 2 3" and hybrid["n"] == "3" and hybrid["alpha"] == "0.5"
    assert float(hybrid["cross_map"]) == pytest.approx(statistics.fmean(r["map"]["cross"] for r in runs[:3]))
    assert float(hybrid["cross_map_std"]) == pytest.approx(0.01)
    assert float(hybrid["multi_R@10"]) == pytest.approx(0.61)
    paper = next(r for r in rows if r["source"] == "paper" and r["model"] == "LaBSE" and r["dataset"] == "mlqa-r"
                 and r["sampling"] == "xy")
    assert (float(paper["mono_map"]), float(paper["bias"]), paper["cross_R@1"]) == (0.671, 198.0, "")


def test_leaderboard_rejects_unknown_column():
    with pytest.raises(UsageError, match="unknown leaderboard column"):
        leaderboard([], columns=[Column("mono", "bias")])


def test_plot_alpha_sweep(tmp_path):
    runs = [make_results(sampling="hybrid", alpha=a, seed=s, shift=0.01 * s - abs(a - 0.5) / 10)
            for a in (0.0, 0.25, 0.5, 0.75, 1.0) for s in (1, 2)]
    runs.append(make_results(shift=-0.2))
    path = plot_alpha_sweep(runs, tmp_path / "alpha.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(UsageError, match="no result has an alpha"):
        plot_alpha_sweep([make_results()], tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()


# ---------------------------------------------------------------------------------------------------------------
# hybrid-plugin report


def test_cli_report_writes_leaderboard(tmp_path, capsys):
    paths = [write_json(tmp_path / f"r{i}.json", r) for i, r in enumerate(seeded_runs())]
    out = tmp_path / "out"
    assert main(["report", *map(str, paths), "--out", str(out)]) == 0
    md = (out / "leaderboard.md").read_text(encoding="utf-8")
    assert capsys.readouterr().out == md
    assert "± " in md and "(paper)" in md
    assert len(list(csv.DictReader(io.StringIO((out / "leaderboard.csv").read_text(encoding="utf-8"))))) == 16
    assert main(["report", str(paths[0]), "--out", str(out), "--no-paper"]) == 0
    assert "(paper)" not in (out / "leaderboard.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("content", [None, "{not json", json.dumps({"model": {"name": "m"}})])
def test_cli_report_errors_exit_2_without_output(tmp_path, capsys, content):
    good = write_json(tmp_path / "good.json", make_results())
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["report", str(good), str(bad), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert err.startswith("hybrid-plugin: error: ") and str(bad) in err and "\n" not in err
    assert not out.exists()
