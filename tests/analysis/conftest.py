"""Small hand-written evaluations (synthetic numbers) for the tests of ``hybrid_plugin.analysis``."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest

from hybrid_plugin.evaluation.results import EvaluationResults

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
