"""hybrid_plugin.robustness.summary and the paired test on per-query drops (analysis.significance.compare_drops):
drops from per-query APs, per language, over the attacked queries only, seeds averaged, one JSON form."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid_plugin.analysis.significance import compare_drops, paired_randomization_test, per_query_drop
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.evaluation.cells import Cell as PairCell
from hybrid_plugin.evaluation.cells import DatasetInfo, ModelInfo
from hybrid_plugin.evaluation.results import EvaluationResults
from hybrid_plugin.robustness.settings import Cell
from hybrid_plugin.robustness.summary import RobustnessSummary, summarise_robustness

SETTINGS = ("en-en", "de-de", "en-de", "de-en", "multi:en", "multi:de")


def results_with(per_query, *, name="m", perturbation=None):
    """An evaluation carrying what the summary reads: per-query APs, and the perturbation record."""
    cells = [PairCell(lang, lang, {"map": 0.5}, 1) for lang in ("en", "de")]
    return EvaluationResults.from_cells(model=ModelInfo(name), dataset=DatasetInfo("xquad-r", ("en", "de")),
                                        pairs=cells, multi=[], per_query=per_query,
                                        settings={} if perturbation is None else {"perturbation": perturbation})


def table(rng, n=40):
    return {s: {f"q{i}": float(rng.random()) for i in range(n)} for s in SETTINGS}


def minus(per_query, amount, only=None):
    return {s: {q: v - (amount if only is None or s in only else 0.0) for q, v in qs.items()}
            for s, qs in per_query.items()}


def test_per_query_drop_pairs_the_same_queries_and_keeps_only_those_asked():
    clean = results_with({"en-en": {"q1": 0.9, "q2": 0.5}, "de-de": {"q1": 0.6}})
    noisy = results_with({"en-en": {"q1": 0.4, "q2": 0.5}, "de-de": {"q1": 0.7}})
    assert per_query_drop(clean, noisy, "mono") == pytest.approx(
        {("en-en", "q1"): 0.5, ("en-en", "q2"): 0.0, ("de-de", "q1"): -0.1})
    assert per_query_drop(clean, noisy, "mono", qids=["q2"]) == {("en-en", "q2"): 0.0}
    with pytest.raises(DataError, match="share no query in the mono settings"):
        per_query_drop(clean, noisy, "mono", qids=["q9"])


def test_compare_drops_finds_the_sturdier_model_and_averages_seeds():
    rng = np.random.default_rng(0)
    clean = table(rng)
    sturdy = [(results_with(clean), results_with(minus(clean, 0.01)))]
    fragile = [(results_with(clean), results_with(minus(clean, 0.2, only={"en-de", "de-en"})))]
    cross = compare_drops(sturdy, fragile, "cross")
    assert cross.n == 80 and cross.mean_diff == pytest.approx(0.01 - 0.2) and cross.p_value < 0.01
    mono = compare_drops(sturdy, fragile, "mono")  # both lose 0.01 and 0 the same way on every query
    assert mono.mean_diff == pytest.approx(0.01)
    # two seeds: a query's drop is its mean over them
    seeds = sturdy + [(results_with(clean), results_with(minus(clean, 0.03)))]
    assert compare_drops(seeds, fragile, "mono").mean_diff == pytest.approx(0.02)
    with pytest.raises(UsageError, match="empty list"):
        compare_drops([], fragile, "mono")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)), min_size=2,
                max_size=12))
def test_compare_drops_is_the_randomisation_test_of_the_drop_differences(rows):
    """Invariant: testing drops is testing (clean_a - pert_a) against (clean_b - pert_b) query by query."""
    a_clean = {"en-en": {f"q{i}": r[0] for i, r in enumerate(rows)}}
    a_pert = {"en-en": {f"q{i}": r[1] for i, r in enumerate(rows)}}
    b_clean = {"en-en": {f"q{i}": r[2] for i, r in enumerate(rows)}}
    b_pert = {"en-en": {f"q{i}": r[3] for i, r in enumerate(rows)}}
    got = compare_drops([(results_with(a_clean), results_with(a_pert))],
                        [(results_with(b_clean), results_with(b_pert))], "mono", trials=500)
    expected = paired_randomization_test({q: a_clean["en-en"][q] - a_pert["en-en"][q] for q in a_clean["en-en"]},
                                         {q: b_clean["en-en"][q] - b_pert["en-en"][q] for q in b_clean["en-en"]},
                                         trials=500)
    assert got.n == expected.n == len(rows)
    assert got.mean_diff == pytest.approx(expected.mean_diff, abs=1e-12)
    assert got.p_value == pytest.approx(expected.p_value)


def test_the_summary_measures_drops_per_language_attack_queries_only_and_tests_hybrid():
    rng = np.random.default_rng(1)
    clean = table(rng, 10)
    attacked = ["q0", "q1"]
    typos = Cell("typos", 0.1)
    attack = Cell("attack", 1.0)
    attack_record = {"success_rate": 0.5, "mean_rank_drop": 1.5, "queries": 4, "model_queries": 20,
                     "model_queries_bound": 36}

    def model(name, loss):
        hit = {s: {q: v - (loss if q in attacked else 0.0) for q, v in qs.items()} for s, qs in clean.items()}
        return [{"clean": results_with(clean, name=name),
                 typos.label: results_with(minus(clean, loss, only={"de-de", "de-en", "multi:de"}), name=name),
                 attack.label: results_with(hit, name=name, perturbation={"attack": attack_record, "qids": attacked})}]

    evaluations = {("xquad-r", "xx"): model("xx", 0.2), ("xquad-r", "hybrid-a0.5"): model("hybrid", 0.1)}
    summary = summarise_robustness({"study": "s", "kinds": ["typos"], "items": 10}, evaluations, [typos, attack],
                                   trials=200)
    rows = {(r.config, r.cell): r for r in summary.rows}
    xx = rows[("xx", "typos:0.1")]
    assert xx.drop["mono"] == pytest.approx(0.1) and xx.drop["cross"] == pytest.approx(0.1)
    assert xx.per_language["de"]["mono"] == pytest.approx(0.2) and xx.per_language["en"]["mono"] == 0
    assert xx.perturbed["mono"] == pytest.approx(xx.clean["mono"] - 0.1) and xx.perturbed_std["mono"] is None
    hit = rows[("xx", "attack:1")]
    assert hit.drop["multi"] == pytest.approx(0.2)  # over the attacked queries only
    assert hit.attack["success_rate"] == 0.5 and hit.attack["model_queries_bound"] == 36
    tests = {(t.cell, t.baseline, t.setting): t for t in summary.tests}
    assert set(t.baseline for t in summary.tests) == {"xx"} and len(summary.tests) == 2 * 3
    assert tests[("attack:1", "xx", "mono")].mean_diff == pytest.approx(-0.1)
    assert tests[("attack:1", "xx", "mono")].n == 2 * len(attacked)
    again = RobustnessSummary.from_dict(json.loads(json.dumps(summary.to_dict())))
    assert again == summary
    text = summary.to_markdown()
    assert "| typos:0.1 | xx | 1 |" in text and "hybrid-a0.5 vs xx" in text and "severity-xquad-r-cross.png" in text
    with pytest.raises(DataError, match="no results of attack:1"):
        summarise_robustness({}, {("xquad-r", "xx"): [{"clean": evaluations[("xquad-r", "xx")][0]["clean"]}]},
                             [attack])
    with pytest.raises(DataError, match="not a robustness summary"):
        RobustnessSummary.from_dict({"rows": []})
