"""Paired significance tests over per-query average precision.

Two systems are compared on the queries both answered: the paired randomisation (sign-flip) test of
Fisher / Smucker et al. (2007) — the standard test of IR evaluation — and the paired t-test. Both are two-sided.
:func:`compare_results` compares two results dictionaries (``hybrid-plugin evaluate``'s ``per_query`` field)
over a setting group: mono, cross or multi.

Example::

    from hybrid_plugin.significance import paired_randomization_test
    paired_randomization_test({"q1": 0.9, "q2": 0.5, "q3": 0.7}, {"q1": 0.6, "q2": 0.4, "q3": 0.2})
    # TestResult(mean_diff=0.3, p_value=0.25, n=3)  (exact: 2**3 sign patterns <= trials)
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np

from hybrid_plugin.errors import DataError, UsageError

__all__ = [
    "TestResult",
    "compare_all",
    "compare_results",
    "group_per_query",
    "paired_randomization_test",
    "paired_t_test",
]

Group = Literal["mono", "cross", "multi"]
GROUPS: tuple[Group, ...] = ("mono", "cross", "multi")
Test = Literal["randomization", "t"]

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
    x = np.fromiter((a[k] for k in keys), dtype=np.float64, count=len(keys))
    y = np.fromiter((b[k] for k in keys), dtype=np.float64, count=len(keys))
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        raise DataError(f"per-query values must be finite numbers, but query {keys[int(np.argmax(bad))]!r} has "
                        f"{x[bad][0]!r} and {y[bad][0]!r}")
    return x, y


def paired_randomization_test(a: Mapping[Hashable, float], b: Mapping[Hashable, float], *, trials: int = 10000,
                              seed: int = 0) -> TestResult:
    """Two-sided paired randomisation (sign-flip) test of the mean difference ``a - b`` over shared queries.

    Under the null hypothesis the sign of each query's difference is a fair coin. The p-value is the share of
    sign patterns whose mean is at least as far from zero as the observed one: counted exactly over all
    ``2**n`` patterns when that is no more than ``trials``, else estimated from ``trials`` random patterns as
    ``(hits + 1) / (trials + 1)`` (never 0). Vectorised: the random signs are drawn as bytes and each group of 8
    queries' signed sum is looked up in a 256-entry table, so 10,000 trials over 13,000 queries take well
    under a second.

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
        bits = ((np.arange(2**n, dtype=np.int64)[:, None] >> np.arange(n)) & 1).astype(np.float64)
        sums = (2.0 * bits - 1.0) @ d
        p = float(np.count_nonzero(np.abs(sums) >= abs(observed) - tol)) / 2**n
        return TestResult(observed / n, min(1.0, p), n)
    groups = -(-n // 8)
    padded = np.zeros(groups * 8)
    padded[:n] = d
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
    return TestResult(observed / n, (hits + 1) / (trials + 1), n)


def paired_t_test(a: Mapping[Hashable, float], b: Mapping[Hashable, float]) -> TestResult:
    """Two-sided paired t-test (``scipy.stats.ttest_rel``) of ``a - b`` over shared queries.

    When every difference is zero the p-value is 1 (scipy would give NaN).

    Raises:
        DataError: fewer than 2 shared qids, or a value that is not a finite number.
    """
    from scipy import stats

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


def _setting_group(setting: str, languages: Sequence[str]) -> Group:
    if setting.startswith("multi:"):
        return "multi"
    from hybrid_plugin.reporting import split_pair

    query, pool = split_pair(setting, languages)
    return "mono" if query == pool else "cross"


def group_per_query(results: Mapping[str, Any], group: Group) -> dict[tuple[str, str], float]:
    """Per-query APs of one results dictionary over a setting group, keyed by ``(setting, qid)``.

    ``per_query`` keys are settings such as ``"en-de"`` (mono when the two languages are equal, else cross)
    and ``"multi:en"``.

    Raises:
        DataError: the results have no ``per_query`` field, or none of its settings is in ``group``.
        UsageError: ``group`` is not mono, cross or multi.
    """
    if group not in GROUPS:
        raise UsageError(f"group must be one of {GROUPS} but got {group!r}")
    name = results.get("model", {}).get("name", "?")
    per_query = results.get("per_query")
    if not isinstance(per_query, Mapping) or not per_query:
        raise DataError(f"results of model {name!r} have no per-query APs (field 'per_query'): "
                        "re-run evaluate to get them")
    languages = list(results.get("dataset", {}).get("languages") or [])
    out: dict[tuple[str, str], float] = {}
    for setting, values in per_query.items():
        if _setting_group(setting, languages) != group:
            continue
        for qid, ap in values.items():
            out[(setting, str(qid))] = ap
    if not out:
        raise DataError(f"results of model {name!r} have no per-query APs in the {group} settings")
    return out


def _pooled(results: Mapping[str, Any] | Sequence[Mapping[str, Any]], group: Group) -> dict[tuple[str, str], float]:
    """Per-query APs of one results dictionary, or their mean over several (seeds) on their shared keys."""
    if isinstance(results, Mapping):
        return group_per_query(results, group)
    if not results:
        raise UsageError("an empty list of results has nothing to compare")
    tables = [group_per_query(r, group) for r in results]
    keys = set(tables[0]).intersection(*tables[1:])
    if not keys:
        raise DataError(f"the {len(tables)} results share no (setting, query) in the {group} settings")
    return {k: float(np.mean([t[k] for t in tables])) for k in keys}


def compare_results(a: Mapping[str, Any] | Sequence[Mapping[str, Any]],
                    b: Mapping[str, Any] | Sequence[Mapping[str, Any]], group: Group, *,
                    test: Test = "randomization", trials: int = 10000, seed: int = 0) -> TestResult:
    """Test whether system ``a`` differs from system ``b`` over a setting group (mono, cross or multi).

    Per-query APs of every setting in the group are pooled, keyed by (setting, qid), and paired on the keys
    both systems have. With a list of results for a system (several seeds), its per-query AP is the mean over
    the seeds. ``mean_diff`` is the mean over pooled queries, which equals the difference of the macro means
    when every setting has the same queries (XQuAD-R), and weighs settings by their number of queries otherwise.

    Args:
        a (dict | list[dict]): results of the first system (e.g. hybrid), one per seed.
        b (dict | list[dict]): results of the second system (e.g. a baseline).
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


def compare_all(a: Mapping[str, Any] | Sequence[Mapping[str, Any]],
                b: Mapping[str, Any] | Sequence[Mapping[str, Any]], *, test: Test = "randomization",
                trials: int = 10000, seed: int = 0) -> dict[Group, TestResult]:
    """:func:`compare_results` for mono, cross and multi."""
    return {group: compare_results(a, b, group, test=test, trials=trials, seed=seed) for group in GROUPS}
