"""Benchmark of the paired randomisation test: the plugin's own sampler against ``scipy.stats.permutation_test``.

Issue #11 asks to use ``scipy.stats.permutation_test`` unless a benchmark shows the hand-written test is needed.
Both compute the same two-sided sign-flip test (the statistic |mean(a - b)|, ``(hits + 1) / (trials + 1)``
from random sign patterns, exact enumeration when ``2**n <= trials``); this script times them on

1. synthetic data of XQuAD-R's size (13,090 paired values, 10,000 resamples; the case the old test suite timed),
   and checks that the p-values agree within Monte-Carlo error over several seeds;
2. the committed full study (``benchmarks/reproduce/full``, XQuAD-R, hybrid α = 0.5 vs X-Y, two seeds each):
   mono and multi (13,090 queries each) and cross (130,900 pairs), the sizes the study's summary tests;
3. the whole significance step of that study (2 evaluation sets x 3 baselines x 3 setting groups), timed for
   the plugin's test and extrapolated for scipy from its measured cost per value and resample.

Usage (from the project root)::

    python benchmarks/analysis/bench_significance.py --out benchmarks/analysis/significance.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import scipy
from scipy import stats

from hybrid_plugin.analysis.significance import compare_results, group_per_query, paired_randomization_test
from hybrid_plugin.evaluation.results import load_results

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "benchmarks" / "reproduce" / "full" / "eval"
TRIALS = 10_000


def scipy_randomization_test(a: dict, b: dict, *, trials: int = TRIALS, seed: int = 0) -> tuple[float, float]:
    """The same test as one ``scipy.stats.permutation_test`` call: (mean difference, p-value)."""
    keys = sorted(a.keys() & b.keys(), key=str)
    d = np.array([a[k] for k in keys], dtype=float) - np.array([b[k] for k in keys], dtype=float)
    result = stats.permutation_test(
        (d,), lambda x, axis: np.abs(x.mean(axis=axis)), permutation_type="samples", vectorized=True,
        n_resamples=trials, alternative="greater", rng=np.random.default_rng(seed),
        batch=max(1, 2**22 // d.size))  # ~64 MiB of permutation indices per batch (all at once would be GBs)
    return float(d.mean()), float(result.pvalue)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def synthetic(n: int, shift: float, noise: float = 0.2, seed: int = 1) -> tuple[dict, dict]:
    """The old test suite's generator: AP-like values in [0, 1], ``b`` about ``shift`` below ``a``."""
    rng = np.random.default_rng(seed)
    a = rng.random(n)
    b = np.clip(a - shift + rng.normal(0, noise, n), 0, 1)
    return {f"q{i}": float(x) for i, x in enumerate(a)}, {f"q{i}": float(x) for i, x in enumerate(b)}


def agreement(ours: list[float], theirs: list[float], trials: int) -> dict:
    """Mean p of each over seeds, and their difference in units of its Monte-Carlo standard error."""
    p = statistics.fmean(ours + theirs)
    se = math.sqrt(p * (1 - p) / trials) * math.sqrt(1 / len(ours) + 1 / len(theirs))
    diff = statistics.fmean(ours) - statistics.fmean(theirs)
    return {"plugin_mean_p": statistics.fmean(ours), "scipy_mean_p": statistics.fmean(theirs),
            "difference": diff, "standard_error": se, "difference_in_se": diff / se if se else 0.0}


def part_synthetic(seeds_plugin: int, seeds_scipy: int) -> dict:
    a, b = synthetic(13_090, 0.002)
    paired_randomization_test(a, b, trials=100)  # warm-up
    plugin_times = [timed(paired_randomization_test, a, b, trials=TRIALS, seed=0)[1] for _ in range(3)]
    (_, p_scipy), scipy_time = timed(scipy_randomization_test, a, b, seed=0)
    ours = [paired_randomization_test(a, b, trials=TRIALS, seed=s).p_value for s in range(seeds_plugin)]
    theirs = [p_scipy] + [scipy_randomization_test(a, b, seed=s)[1] for s in range(1, seeds_scipy)]
    return {"n": 13_090, "trials": TRIALS, "plugin_s": min(plugin_times), "scipy_s": scipy_time,
            "slowdown": scipy_time / min(plugin_times), "seeds": {"plugin": seeds_plugin, "scipy": seeds_scipy},
            **agreement(ours, theirs, TRIALS)}


def pooled(runs: list, group: str) -> dict:
    """Per-query AP over a setting group, averaged over seeds (what ``compare_results`` tests)."""
    tables = [group_per_query(r, group) for r in runs]
    keys = set(tables[0]).intersection(*tables[1:])
    return {k: float(np.mean([t[k] for t in tables])) for k in keys}


def study_runs(eval_set: str, config: str) -> list:
    return [load_results(p) for p in sorted((STUDY / eval_set / config).glob("**/results.json"))]


def part_study() -> dict:
    hybrid, xy = study_runs("xquad-r", "hybrid-a0.5"), study_runs("xquad-r", "xy")
    cases = []
    for group in ("mono", "multi", "cross"):
        a, b = pooled(hybrid, group), pooled(xy, group)
        ours, plugin_s = timed(paired_randomization_test, a, b, trials=TRIALS)
        (mean, p_scipy), scipy_s = timed(scipy_randomization_test, a, b)
        assert math.isclose(mean, ours.mean_diff, rel_tol=1e-9, abs_tol=1e-12)
        cases.append({"group": group, "n": ours.n, "mean_diff": ours.mean_diff, "plugin_p": ours.p_value,
                      "scipy_p": p_scipy, "plugin_s": plugin_s, "scipy_s": scipy_s, "slowdown": scipy_s / plugin_s})
    return {"comparison": "xquad-r: hybrid-a0.5 (seeds 0, 1) vs xy (seeds 0, 1)", "trials": TRIALS, "cases": cases}


def part_whole_study(study: dict) -> dict:
    """The study's significance step: every hybrid vs each baseline, in each group, on both evaluation sets."""
    calls, plugin_s, values = 0, 0.0, 0
    for eval_set in ("xquad-r", "mlqa-r"):
        hybrid = study_runs(eval_set, "hybrid-a0.5")
        for baseline in ("xx", "xy", "base"):
            other = study_runs(eval_set, baseline)
            for group in ("mono", "cross", "multi"):
                result, seconds = timed(compare_results, hybrid, other, group)
                calls, plugin_s, values = calls + 1, plugin_s + seconds, values + result.n
    cross = next(c for c in study["cases"] if c["group"] == "cross")
    scipy_per_value = cross["scipy_s"] / cross["n"]
    return {"calls": calls, "paired_values": values, "plugin_s": plugin_s,
            "scipy_s_estimated": scipy_per_value * values,
            "estimate": "scipy's seconds per paired value at 10,000 resamples (from the cross case) x values"}


def environment() -> dict:
    return {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "cpus": os.cpu_count(), "machine": platform.machine(), "load_average": list(os.getloadavg()),
            "date": datetime.now().strftime("%Y-%m-%d %H:%M")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "significance.json")
    parser.add_argument("--seeds-plugin", type=int, default=20, help="seeds of the agreement check (plugin)")
    parser.add_argument("--seeds-scipy", type=int, default=5, help="seeds of the agreement check (scipy)")
    args = parser.parse_args()
    record = {"environment": environment()}
    record["synthetic"] = part_synthetic(args.seeds_plugin, args.seeds_scipy)
    print(json.dumps(record["synthetic"], indent=1), flush=True)
    record["study"] = part_study()
    print(json.dumps(record["study"], indent=1), flush=True)
    record["whole_study"] = part_whole_study(record["study"])
    record["environment"]["load_average_end"] = list(os.getloadavg())
    print(json.dumps(record["whole_study"], indent=1))
    args.out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
