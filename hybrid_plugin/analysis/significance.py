"""Paired significance tests over per-query average precision.

Two systems are compared on the queries both answered: the paired randomisation (sign-flip) test of
Fisher / Smucker et al. (2007) — the standard test of IR evaluation — and the paired t-test. Both are two-sided.
:func:`compare_results` compares two evaluations (their ``per_query`` APs) over a setting group: mono, cross or
multi.

The randomisation test is written here rather than called as ``scipy.stats.permutation_test``: on the study's
sizes the scipy call is 30 to 70 times slower (13,090 queries: 0.13 s against 5.3 s; the 130,900 cross-lingual
pairs of XQuAD-R: 2 s against 160 s; 10,000 resamples each), which turns the study's significance step from
seconds into most of an hour, with p-values that agree within Monte-Carlo error.
``benchmarks/analysis/bench_significance.py`` measures both (results and the decision beside it).

Example::

    >>> paired_randomization_test({"q1": 0.9, "q2": 0.5, "q3": 0.7}, {"q1": 0.6, "q2": 0.4, "q3": 0.2}).p_value
    0.25
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
from scipy import stats

from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.evaluation.cells import is_finite_number
from hybrid_plugin.evaluation.results import SETTINGS, EvaluationResults, Setting, split_pair

__all__ = [
    "TestResult",
    "compare_all",
    "compare_drops",
    "compare_results",
    "group_per_query",
    "paired_randomization_test",
    "paired_t_test",
    "per_query_drop",
]

Test = Literal["randomization", "t"]
Systems = EvaluationResults | Sequence[EvaluationResults]
"""One system's results: one evaluation, or several (seeds) whose per-query APs are averaged."""

# 256 byte values -> their 8 bits as signs (+1 for a set bit), in np.unpackbits order
_BYTE_SIGNS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).astype(np.float64) * 2.0 - 1.0
_CHUNK = 1 << 21  # lookups per chunk (trials x byte groups): ~16 MiB of indices


class TestResult(NamedTuple):
    """The outcome of a paired test of ``a`` against ``b``.

    Attributes:
        mean_diff: mean over shared queries of ``a[q] - b[q]`` (positive: ``a`` is better).
        p_value: two-sided p-value of "no difference".
        n: number of shared queries.
    """

    __test__ = False  # not a pytest test class

    mean_diff: float
    p_value: float
    n: int

    def describe(self, level: float = 0.05) -> str:
        """One line such as ``"+0.0031 (p = 0.012, n = 13090): significant at 0.05"``."""
        verdict = "significant" if self.p_value < level else "not significant"
        return f"{self.mean_diff:+.4f} (p = {self.p_value:.3g}, n = {self.n}): {verdict} at {level:g}"


def _aligned(a: Mapping[Hashable, float], b: Mapping[Hashable, float]) -> tuple[np.ndarray, np.ndarray]:
    shared = a.keys() & b.keys()
    if not shared:
        raise DataError(f"the two systems share no query ids ({len(a)} and {len(b)} queries): nothing to compare")
    keys = sorted(shared, key=str)  # a fixed order, so that a seed always gives the same p-value
    try:
        x = np.fromiter((a[k] for k in keys), dtype=np.float64, count=len(keys))
        y = np.fromiter((b[k] for k in keys), dtype=np.float64, count=len(keys))
        bad = np.flatnonzero(~(np.isfinite(x) & np.isfinite(y)))
        key = keys[bad[0]] if bad.size else None
    except (TypeError, ValueError):  # a value that is not a number at all
        key = next(k for k in keys if not (is_finite_number(a[k]) and is_finite_number(b[k])))
    if key is not None:
        raise DataError(f"per-query values must be finite numbers, but query {key!r} has {a[key]!r} and {b[key]!r}")
    return x, y


def _exact_p(d: np.ndarray, observed: float, tol: float) -> float:
    """Share of all ``2**n`` sign patterns whose sum is at least as far from zero as ``observed``."""
    n = d.size
    bits = ((np.arange(2**n, dtype=np.int64)[:, None] >> np.arange(n)) & 1).astype(np.float64)
    sums = (2.0 * bits - 1.0) @ d
    return min(1.0, float(np.count_nonzero(np.abs(sums) >= abs(observed) - tol)) / 2**n)


def _sampled_p(d: np.ndarray, observed: float, tol: float, trials: int, seed: int) -> float:
    """``(hits + 1) / (trials + 1)`` over ``trials`` random sign patterns, drawn a byte (8 queries) at a time."""
    groups = -(-d.size // 8)
    padded = np.zeros(groups * 8)
    padded[:d.size] = d
    table = padded.reshape(groups, 8) @ _BYTE_SIGNS.T  # (groups, 256): signed sum of each group per byte value
    flat = table.ravel()
    offsets = np.arange(groups, dtype=np.intp) * 256
    rng = np.random.default_rng(seed)
    hits = 0
    per_chunk = max(1, _CHUNK // groups)
    for start in range(0, trials, per_chunk):
        size = min(per_chunk, trials - start)
        patterns = rng.integers(0, 256, size=(size, groups), dtype=np.uint8)
        sums = flat[patterns + offsets].sum(axis=1)
        hits += int(np.count_nonzero(np.abs(sums) >= abs(observed) - tol))
    return (hits + 1) / (trials + 1)


def paired_randomization_test(a: Mapping[Hashable, float], b: Mapping[Hashable, float], *, trials: int = 10000,
                              seed: int = 0) -> TestResult:
    """Two-sided paired randomisation (sign-flip) test of the mean difference ``a - b`` over shared queries.

    Under the null hypothesis the sign of each query's difference is a fair coin. The p-value is the share of
    sign patterns whose mean is at least as far from zero as the observed one: counted exactly over all
    ``2**n`` patterns when that is no more than ``trials``, else estimated from ``trials`` random patterns as
    ``(hits + 1) / (trials + 1)`` (never 0). Vectorised: the random signs are drawn as bytes and each group of 8
    queries' signed sum is looked up in a 256-entry table (0.13 s for 10,000 trials over 13,090 queries).

    Args:
        a (Mapping[qid, float]): per-query score (e.g. AP) of the first system.
        b (Mapping[qid, float]): per-query score of the second system; only qids in both are used.
        trials (int, default 10000): random sign patterns.
        seed (int, default 0): seed of the random patterns.

    Returns:
        TestResult(mean_diff, p_value, n).

    Raises:
        DataError: no shared qids, or a value that is not a finite number.
        UsageError: ``trials`` < 1.

    Example::

        paired_randomization_test({"q1": 1.0, "q2": 0.5}, {"q1": 1.0, "q2": 0.5}).p_value  # 1.0
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise UsageError(f"trials must be a positive integer but got {trials!r}")
    x, y = _aligned(a, b)
    d = x - y
    n = d.size
    observed = float(d.sum())
    # sums closer than this to |observed| count as ties (summation order differs between the two sides)
    tol = 1e-10 * float(np.abs(d).sum())
    if n < 63 and 2**n <= trials:
        return TestResult(observed / n, _exact_p(d, observed, tol), n)
    return TestResult(observed / n, _sampled_p(d, observed, tol, trials, seed), n)


def paired_t_test(a: Mapping[Hashable, float], b: Mapping[Hashable, float]) -> TestResult:
    """Two-sided paired t-test (``scipy.stats.ttest_rel``) of ``a - b`` over shared queries.

    When every difference is zero the p-value is 1 (scipy would give NaN).

    Raises:
        DataError: fewer than 2 shared qids, or a value that is not a finite number.
    """
    x, y = _aligned(a, b)
    n = x.size
    if n < 2:
        raise DataError(f"a paired t-test needs at least 2 shared queries but got {n}")
    d = x - y
    if np.all(d == d[0]):
        # no variance: identical systems (p = 1), or a constant shift (as significant as it gets)
        return TestResult(float(d.mean()), 1.0 if d[0] == 0 else 0.0, n)
    p = float(stats.ttest_rel(x, y).pvalue)
    return TestResult(float(d.mean()), p if math.isfinite(p) else 1.0, n)


# --------------------------------------------------------------------------------------------------------------
# Comparing evaluations


def _setting_group(setting: str, languages: Sequence[str]) -> Setting:
    if setting.startswith("multi:"):
        return "multi"
    query, pool = split_pair(setting, languages)
    return "mono" if query == pool else "cross"


def group_per_query(results: EvaluationResults, group: Setting) -> dict[tuple[str, str], float]:
    """Per-query APs of one evaluation over a setting group, keyed by ``(setting, qid)``.

    ``per_query`` keys are settings such as ``"en-de"`` (mono when the two languages are equal, else cross)
    and ``"multi:en"``.

    Raises:
        DataError: the results have no per-query APs, none in ``group``, or one that is not a finite number.
        UsageError: ``group`` is not mono, cross or multi.
    """
    if group not in SETTINGS:
        raise UsageError(f"group must be one of {SETTINGS} but got {group!r}")
    name = results.model.name
    if not results.per_query:
        raise DataError(f"results of model {name!r} have no per-query APs (field 'per_query'): "
                        "re-run evaluate to get them")
    languages = results.languages
    out: dict[tuple[str, str], float] = {}
    for setting, values in results.per_query.items():
        if not isinstance(values, Mapping):
            raise DataError(f"results of model {name!r}: field 'per_query.{setting}' must be an object of "
                            f"query id -> AP but got {type(values).__name__}")
        if _setting_group(setting, languages) != group:
            continue
        for qid, ap in values.items():
            if not is_finite_number(ap):
                raise DataError(f"results of model {name!r}: field 'per_query.{setting}.{qid}' must be a finite "
                                f"number but got {ap!r}")
            out[(setting, str(qid))] = ap
    if not out:
        raise DataError(f"results of model {name!r} have no per-query APs in the {group} settings")
    return out


def _pooled(results: Systems, group: Setting) -> dict[tuple[str, str], float]:
    """Per-query APs of one evaluation, or their mean over several (seeds) on their shared keys."""
    if isinstance(results, EvaluationResults):
        return group_per_query(results, group)
    if not results:
        raise UsageError("an empty list of results has nothing to compare")
    tables = [group_per_query(r, group) for r in results]
    keys = set(tables[0]).intersection(*tables[1:])
    if not keys:
        raise DataError(f"the {len(tables)} results share no (setting, query) in the {group} settings")
    return {k: float(np.mean([t[k] for t in tables])) for k in keys}


def compare_results(a: Systems, b: Systems, group: Setting, *, test: Test = "randomization", trials: int = 10000,
                    seed: int = 0) -> TestResult:
    """Test whether system ``a`` differs from system ``b`` over a setting group (mono, cross or multi).

    Per-query APs of every setting in the group are pooled, keyed by (setting, qid), and paired on the keys
    both systems have. With a list of results for a system (several seeds), its per-query AP is the mean over
    the seeds. ``mean_diff`` is the mean over pooled queries, which equals the difference of the macro means
    when every setting has the same queries (XQuAD-R), and weighs settings by their number of queries otherwise.

    Args:
        a (EvaluationResults | list[EvaluationResults]): the first system (e.g. hybrid), one result per seed.
        b (EvaluationResults | list[EvaluationResults]): the second system (e.g. a baseline).
        group (str): ``"mono"``, ``"cross"`` or ``"multi"``.
        test (str, default "randomization"): ``"randomization"`` (sign-flip) or ``"t"`` (paired t-test).
        trials (int, default 10000): random sign patterns of the randomisation test.
        seed (int, default 0): its seed.

    Returns:
        TestResult(mean_diff of a - b, p_value, n).
    """
    if test not in ("randomization", "t"):
        raise UsageError(f"test must be 'randomization' or 't' but got {test!r}")
    x, y = _pooled(a, group), _pooled(b, group)
    if test == "t":
        return paired_t_test(x, y)
    return paired_randomization_test(x, y, trials=trials, seed=seed)


def compare_all(a: Systems, b: Systems, *, test: Test = "randomization", trials: int = 10000,
                seed: int = 0) -> dict[Setting, TestResult]:
    """:func:`compare_results` for mono, cross and multi."""
    return {group: compare_results(a, b, group, test=test, trials=trials, seed=seed) for group in SETTINGS}


# --------------------------------------------------------------------------------------------------------------
# Comparing drops (robustness): clean minus perturbed AP of the same queries


def per_query_drop(clean: EvaluationResults, perturbed: EvaluationResults, group: Setting, *,
                   qids: Collection[str] | None = None) -> dict[tuple[str, str], float]:
    """Per-query AP drop ``clean - perturbed`` of one model over a setting group, keyed by ``(setting, qid)``
    (positive: the perturbation hurts), over the keys both evaluations have (only ``qids`` when given).

    Raises:
        DataError: either evaluation has no per-query APs in ``group``, or they share no query.

    Example::

        drops = per_query_drop(clean, noisy, "cross")
        sum(drops.values()) / len(drops)   # the mean drop over the cross-lingual queries
    """
    before, after = group_per_query(clean, group), group_per_query(perturbed, group)
    keep = None if qids is None else set(qids)
    drops = {k: before[k] - after[k] for k in before.keys() & after.keys() if keep is None or k[1] in keep}
    if not drops:
        raise DataError(f"the clean and perturbed results of {clean.model.name!r} share no query in the {group} "
                        "settings")
    return drops


def compare_drops(a: Sequence[tuple[EvaluationResults, EvaluationResults]],
                  b: Sequence[tuple[EvaluationResults, EvaluationResults]], group: Setting, *,
                  qids: Collection[str] | None = None, trials: int = 10000, seed: int = 0) -> TestResult:
    """Paired randomisation test of system ``a``'s per-query drop against system ``b``'s, the same queries paired.

    Each system is a list of (clean, perturbed) evaluations, one per seed; a query's drop is its mean over the
    seeds. ``mean_diff`` is the mean of ``drop_a - drop_b``: negative when ``a`` loses less (is more robust).

    Args:
        a, b: (clean, perturbed) results of the two systems, one pair per seed.
        group (str): ``"mono"``, ``"cross"`` or ``"multi"``.
        qids: only these queries (e.g. the attacked ones).
        trials, seed: of the randomisation test.

    Returns:
        TestResult(mean_diff of drop a - drop b, p_value, n).

    Raises:
        UsageError: a system without evaluations.
        DataError: no shared queries, missing per-query APs.

    Example::

        compare_drops([(hybrid_clean, hybrid_typos)], [(xx_clean, xx_typos)], "cross").describe()
    """
    def pooled(system: Sequence[tuple[EvaluationResults, EvaluationResults]]) -> dict[tuple[str, str], float]:
        if not system:
            raise UsageError("an empty list of (clean, perturbed) results has nothing to compare")
        tables = [per_query_drop(clean, perturbed, group, qids=qids) for clean, perturbed in system]
        keys = set(tables[0]).intersection(*tables[1:])
        return {k: float(np.mean([t[k] for t in tables])) for k in keys}

    return paired_randomization_test(pooled(a), pooled(b), trials=trials, seed=seed)
