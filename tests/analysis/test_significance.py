"""Tests of hybrid_plugin.analysis.significance against plain reference implementations and scipy.

The wall-clock check of the old suite (10,000 trials over 13,090 queries) is a benchmark now:
benchmarks/analysis/bench_significance.py."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from hybrid_plugin.analysis import significance
from hybrid_plugin.analysis.significance import (
    compare_all,
    compare_results,
    group_per_query,
    paired_randomization_test,
    paired_t_test,
)
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.evaluation.results import Cell, DatasetInfo, EvaluationResults, ModelInfo


def exact_sign_flip_p(d):
    """Reference: two-sided p over all 2**n sign patterns, by plain loops."""
    observed = abs(sum(d))
    hits = sum(abs(sum(s * x for s, x in zip(signs, d))) >= observed - 1e-12
               for signs in itertools.product((1, -1), repeat=len(d)))
    return hits / 2 ** len(d)


def systems(n, shift, noise=0.2, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.random(n)
    b = np.clip(a - shift + rng.normal(0, noise, n), 0, 1)
    return {f"q{i}": float(x) for i, x in enumerate(a)}, {f"q{i}": float(x) for i, x in enumerate(b)}


# ---------------------------------------------------------------------------------------------------------------
# randomisation test


def test_identical_inputs_give_p_one():
    a, _ = systems(500, 0.0)
    for trials in (10, 10000):
        result = paired_randomization_test(a, dict(a), trials=trials)
        assert result == (0.0, 1.0, 500)


def test_large_shift_is_significant():
    a, b = systems(400, 0.1)
    result = paired_randomization_test(a, b)
    assert result.n == 400
    assert result.mean_diff == pytest.approx(np.mean([a[k] - b[k] for k in a]))
    assert result.p_value < 0.01
    assert result.p_value == pytest.approx(1 / 10001)  # never 0: (hits + 1) / (trials + 1)
    assert paired_randomization_test(b, a).mean_diff == pytest.approx(-result.mean_diff)


@pytest.mark.parametrize("seed", range(4))
def test_small_samples_are_exact(seed):
    rng = np.random.default_rng(seed)
    d = rng.normal(0.05, 0.1, 10)
    a = {i: float(x) for i, x in enumerate(d)}
    b = {i: 0.0 for i in range(10)}
    result = paired_randomization_test(a, b, trials=2**10)  # 2**n <= trials: every pattern enumerated
    assert result.p_value == pytest.approx(exact_sign_flip_p(list(d)))


@pytest.mark.parametrize("seed", range(3))
def test_monte_carlo_agrees_with_exact_reference(seed):
    rng = np.random.default_rng(seed)
    d = rng.normal(0.03, 0.1, 15)  # 32768 patterns > trials: sampled
    a = {f"q{i}": float(x) for i, x in enumerate(d)}
    b = {f"q{i}": 0.0 for i in range(15)}
    exact = exact_sign_flip_p(list(d))
    result = paired_randomization_test(a, b, trials=20000, seed=seed)
    se = np.sqrt(exact * (1 - exact) / 20000)
    assert abs(result.p_value - exact) < 4 * se + 1e-4


def test_monte_carlo_agrees_with_t_test_on_many_queries():
    a, b = systems(3000, 0.006, seed=3)
    rand = paired_randomization_test(a, b, trials=20000)
    t = paired_t_test(a, b)
    assert 0.001 < t.p_value < 0.5  # an informative p-value, not a saturated one
    assert rand.p_value == pytest.approx(t.p_value, abs=0.015)


def test_seeded_and_order_independent():
    a, b = systems(300, 0.01, seed=5)
    first = paired_randomization_test(a, b, seed=7)
    reordered = dict(reversed(list(a.items())))
    assert paired_randomization_test(reordered, b, seed=7) == first
    assert paired_randomization_test(a, b, seed=8).p_value != first.p_value


def test_aligns_on_shared_qids():
    a = {"q1": 0.9, "q2": 0.5, "q3": 0.7, "only-a": 0.0}
    b = {"q1": 0.6, "q2": 0.4, "q3": 0.2, "only-b": 1.0}
    result = paired_randomization_test(a, b)
    assert result.n == 3 and result.mean_diff == pytest.approx(0.3)
    assert result.p_value == pytest.approx(0.25)  # 2 of 8 patterns reach |0.9|


def test_errors():
    with pytest.raises(DataError, match="share no query ids"):
        paired_randomization_test({"q1": 1.0}, {"q2": 1.0})
    with pytest.raises(DataError, match="finite"):
        paired_randomization_test({"q1": float("nan")}, {"q1": 1.0})
    with pytest.raises(UsageError, match="trials must be a positive integer"):
        paired_randomization_test({"q1": 1.0}, {"q1": 1.0}, trials=0)
    with pytest.raises(DataError, match="share no query ids"):
        paired_t_test({"q1": 1.0}, {"q2": 1.0})
    with pytest.raises(DataError, match="at least 2"):
        paired_t_test({"q1": 1.0}, {"q1": 0.5})


def test_xquad_sized_input():
    # the timing of this case is measured in benchmarks/analysis/bench_significance.py
    a, b = systems(13090, 0.002, seed=1)
    result = paired_randomization_test(a, b, trials=10000)
    assert result.n == 13090
    assert 0 < result.p_value < 1


def test_agrees_with_scipy_permutation_test():
    """The same test as one scipy.stats.permutation_test call, within Monte-Carlo error."""
    a, b = systems(1000, 0.015, seed=4)
    d = np.array([a[k] - b[k] for k in sorted(a)])
    reference = stats.permutation_test((d,), lambda x, axis: np.abs(x.mean(axis=axis)), permutation_type="samples",
                                       vectorized=True, n_resamples=10000, alternative="greater", batch=1000,
                                       rng=np.random.default_rng(0)).pvalue
    assert 0.005 < reference < 0.5  # an informative p-value
    result = paired_randomization_test(a, b, trials=10000)
    se = np.sqrt(reference * (1 - reference) * 2 / 10000)
    assert abs(result.p_value - reference) < 4 * se


def test_exact_case_agrees_with_scipy():
    d = np.random.default_rng(9).normal(0.05, 0.1, 9)
    exact = stats.permutation_test((d,), lambda x, axis: np.abs(x.mean(axis=axis)), permutation_type="samples",
                                   vectorized=True, n_resamples=2**9, alternative="greater").pvalue
    result = paired_randomization_test(dict(enumerate(d)), dict.fromkeys(range(9), 0.0), trials=2**9)
    assert result.p_value == pytest.approx(exact) == pytest.approx(exact_sign_flip_p(list(d)))


def test_non_numbers_are_data_errors():
    with pytest.raises(DataError, match="query 'q2' has 'x'"):
        paired_randomization_test({"q1": 1.0, "q2": "x"}, {"q1": 1.0, "q2": 0.5})
    with pytest.raises(DataError, match="finite"):
        paired_t_test({"q1": 1.0, "q2": None}, {"q1": 1.0, "q2": 0.5})


# ---------------------------------------------------------------------------------------------------------------
# t-test


def test_t_test_matches_scipy():
    a, b = systems(200, 0.02, seed=2)
    keys = sorted(a)
    expected = stats.ttest_rel([a[k] for k in keys], [b[k] for k in keys])
    result = paired_t_test(a, b)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-12)
    assert result.mean_diff == pytest.approx(np.mean([a[k] - b[k] for k in keys]))
    assert result.n == 200


def test_t_test_degenerate_differences():
    a = {"q1": 0.5, "q2": 0.7}
    assert paired_t_test(a, dict(a)) == (0.0, 1.0, 2)
    shifted = paired_t_test({k: v + 0.1 for k, v in a.items()}, a)
    assert shifted.p_value == 0.0 and shifted.mean_diff == pytest.approx(0.1)


# ---------------------------------------------------------------------------------------------------------------
# comparing evaluations


def results_with(per_query, languages=("en", "de"), name="m"):
    """An evaluation that carries only what the comparisons read: per-query APs (and one cell per language)."""
    cells = [Cell(lang, lang, {"map": 0.5}, 1) for lang in languages]
    return EvaluationResults.from_cells(model=ModelInfo(name), dataset=DatasetInfo("xquad-r", tuple(languages)),
                                        pairs=cells, multi=[], per_query=per_query)


def test_group_per_query_pools_settings():
    per_query = {"en-en": {"q1": 0.9, "q2": 0.8}, "de-de": {"q1": 0.7}, "en-de": {"q1": 0.5},
                 "de-en": {"q2": 0.4}, "multi:en": {"q1": 0.3}, "multi:de": {"q1": 0.2}}
    r = results_with(per_query)
    assert group_per_query(r, "mono") == {("en-en", "q1"): 0.9, ("en-en", "q2"): 0.8, ("de-de", "q1"): 0.7}
    assert group_per_query(r, "cross") == {("en-de", "q1"): 0.5, ("de-en", "q2"): 0.4}
    assert group_per_query(r, "multi") == {("multi:en", "q1"): 0.3, ("multi:de", "q1"): 0.2}
    # languages with a hyphen are read with the dataset's language list
    hyphen = results_with({"zh-cn-en": {"q1": 0.5}, "zh-cn-zh-cn": {"q1": 0.6}}, languages=("zh-cn", "en"))
    assert set(group_per_query(hyphen, "cross")) == {("zh-cn-en", "q1")}
    assert set(group_per_query(hyphen, "mono")) == {("zh-cn-zh-cn", "q1")}


def test_compare_results_pairs_on_setting_and_qid():
    rng = np.random.default_rng(0)
    settings = ["en-en", "de-de", "en-de", "de-en", "multi:en", "multi:de"]
    base = {s: {f"q{i}": float(rng.random()) for i in range(300)} for s in settings}
    better = {s: {q: min(1.0, v + (0.1 if s in ("en-de", "de-en") else 0.0)) for q, v in qs.items()}
              for s, qs in base.items()}
    a, b = results_with(better), results_with(base)
    cross = compare_results(a, b, "cross")
    assert cross.n == 600 and cross.mean_diff > 0.05 and cross.p_value < 0.01
    mono = compare_results(a, b, "mono", test="t")
    assert mono == (0.0, 1.0, 600)
    everything = compare_all(a, b, trials=1000)
    assert set(everything) == {"mono", "cross", "multi"} and everything["multi"].p_value == 1.0
    # several seeds: per-query AP averaged over them before pairing
    seeds = [results_with(better), results_with({s: {q: v + 0.02 for q, v in qs.items()} for s, qs in better.items()})]
    averaged = compare_results(seeds, b, "mono")
    assert averaged.mean_diff == pytest.approx(0.01) and averaged.p_value < 0.01


def test_compare_results_errors():
    r = results_with({"en-en": {"q1": 0.5}})
    with pytest.raises(DataError, match="no per-query APs"):
        compare_results(results_with({}, name="x"), r, "mono")
    with pytest.raises(DataError, match="in the cross settings"):
        compare_results(r, r, "cross")
    with pytest.raises(UsageError, match="group must be one of"):
        compare_results(r, r, "all")
    with pytest.raises(UsageError, match="test must be"):
        compare_results(r, r, "mono", test="wilcoxon")


def test_describe():
    line = significance.TestResult(0.0031, 0.012, 13090).describe()
    assert line == "+0.0031 (p = 0.012, n = 13090): significant at 0.05"


@pytest.mark.parametrize(("per_query", "message"), [
    ({"en-en": [0.5]}, "'per_query.en-en' must be an object"),
    ({"en-en": {"q1": "high"}}, "'per_query.en-en.q1' must be a finite number but got 'high'"),
    ({"en-en": {"q1": None}}, "'per_query.en-en.q1' must be a finite number"),
    ({"en-fr": {"q1": 0.5}}, "cannot read setting 'en-fr'"),
])
def test_malformed_per_query_is_a_data_error(per_query, message):
    with pytest.raises(DataError, match=message):
        group_per_query(results_with(per_query), "mono")
