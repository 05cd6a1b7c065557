"""Planning an epoch of hybrid batches: which kind of batch each step is, and which rows fill its slots.

A *kind* is a (query language, passage language) pair, ``kind = q * L + p``; X-X kinds have ``q == p``. Planning is
vectorised numpy over integer arrays (memory linear in the rows, no Python object per pair):

1. :class:`KindPools` groups the rows by kind; :func:`kind_weights` says which kinds may be drawn and how often;
2. the kinds of the epoch's steps (or slots) are drawn by quota: ``round(α·steps)`` X-X steps, languages and pairs
   by their weights, in random order;
3. each kind's slots are dealt rows from reshuffled passes over that kind's pool;
4. batches that would repeat an item or a positive passage (or put a positive among the hard negatives) are
   repaired by :func:`hybrid_plugin.sampling.repair.repair_batches`.

:func:`plan_epoch` runs the four steps and returns an :class:`EpochPlan`. What the plan guarantees is listed on
:class:`~hybrid_plugin.sampling.HybridBatchSampler`. The adapter to sentence-transformers is not here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from hybrid_plugin.sampling.repair import repair_batches

if TYPE_CHECKING:  # (planning reads the metadata; it needs not import pyarrow to do so)
    from hybrid_plugin.sampling.metadata import PairMetadata

__all__ = ["DEFAULT_TEMPERATURE", "EpochPlan", "KindPools", "LanguageWeights", "Mixing", "XYMode", "kind_weights",
           "plan_epoch"]

LanguageWeights = Literal["uniform", "size", "temperature"]

DEFAULT_TEMPERATURE = 0.3
"""The exponent of ``language_weights="temperature"`` when none is given: XLM-R's (Conneau et al. 2020, α = 0.3)."""
XYMode = Literal["pair_per_batch", "pair_per_example"]
Mixing = Literal["batch", "example"]


# ---------------------------------------------------------------------------------------------------- pools


@dataclass(frozen=True, eq=False)
class KindPools:
    """The rows of each kind (query language, passage language), and how many distinct items / texts each has.

    Args:
        order (np.ndarray): row indices sorted by kind (stable).
        starts (np.ndarray): ``(K + 1,)`` offsets into ``order``: kind ``k`` is ``order[starts[k]:starts[k+1]]``.
        counts (np.ndarray): ``(K,)`` rows per kind.
        distinct_items (np.ndarray): ``(K,)`` distinct items per kind.
        distinct_texts (np.ndarray): ``(K,)`` distinct positive passage texts per kind.
    """

    order: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    distinct_items: np.ndarray
    distinct_texts: np.ndarray

    @classmethod
    def build(cls, meta: PairMetadata) -> KindPools:
        kind = meta.kind_of_row()
        num_kinds = meta.num_kinds
        counts = np.bincount(kind, minlength=num_kinds)
        order = np.argsort(kind, kind="stable").astype(_index_dtype(meta.num_rows), copy=False)
        starts = np.zeros(num_kinds + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        distinct_items = _distinct_per_kind(kind, meta.item, num_kinds)
        if meta.texts.shape[1]:
            distinct_texts = _distinct_per_kind(kind, meta.texts[:, 0], num_kinds)
        else:
            distinct_texts = counts.copy()
        return cls(order, starts, counts, distinct_items, distinct_texts)

    def pool(self, kind: int) -> np.ndarray:
        return self.order[self.starts[kind]:self.starts[kind + 1]]


def _distinct_per_kind(kind: np.ndarray, values: np.ndarray, num_kinds: int) -> np.ndarray:
    """Distinct non-negative ``values`` per kind (``-1`` means none): a bincount when the key space is small,
    else one sort."""
    if kind.size == 0:
        return np.zeros(num_kinds, dtype=np.int64)
    span = int(values.max()) + 2
    keys = kind.astype(np.int64) * span + (values.astype(np.int64) + 1)
    if num_kinds * span <= 4 * kind.size + (1 << 20):
        present = np.bincount(keys, minlength=num_kinds * span).reshape(num_kinds, span) > 0
        present[:, 0] = False  # "no text" (-1)
        return present.sum(axis=1)
    keys.sort()
    first = np.ones(keys.size, dtype=bool)
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    keys = keys[first & (keys % span != 0)]
    return np.bincount(keys // span, minlength=num_kinds)


def _index_dtype(n: int) -> type:
    return np.int32 if n < np.iinfo(np.int32).max else np.int64


def kind_weights(
    meta: PairMetadata,
    pools: KindPools,
    *,
    global_batch: int,
    language_weights: LanguageWeights = "uniform",
    xy_mode: XYMode = "pair_per_batch",
    mixing: Mixing = "batch",
    temperature: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw weights of the X-X kinds and of the X-Y kinds (each sums to 1, or is all zero if none is usable).

    A kind that fills whole batches on its own (X-X under ``mixing="batch"``; X-Y under ``"pair_per_batch"``)
    is usable when its pool holds at least ``global_batch`` distinct items and distinct positive passages;
    otherwise every non-empty kind is usable. ``"uniform"`` weighs usable kinds equally, ``"size"`` by their
    number of rows ``n``, ``"temperature"`` by ``n ** temperature`` (XLM-R's sampling of pre-training
    languages: 1 is ``"size"``, 0 is ``"uniform"``, in between small languages are drawn more than their size).

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(K,)`` weights of X-X kinds and ``(K,)`` weights of X-Y kinds.
    """
    is_xx = meta.is_xx()
    fills_batch = np.full(meta.num_kinds, mixing == "batch")
    if xy_mode == "pair_per_example":
        fills_batch &= is_xx
    big_enough = (pools.distinct_items >= global_batch) & (pools.distinct_texts >= global_batch)
    usable = (pools.counts > 0) & (~fills_batch | big_enough)
    exponent = {"uniform": 0.0, "size": 1.0}.get(language_weights, temperature)
    base = np.power(pools.counts.astype(np.float64), exponent)  # 0 ** 0 = 1: empty kinds are not usable anyway
    weights = []
    for part in (is_xx, ~is_xx):
        w = np.where(usable & part, base, 0.0)
        total = w.sum()
        weights.append(w / total if total > 0 else w)
    return weights[0], weights[1]


# ---------------------------------------------------------------------------------------------------- planning


@dataclass(frozen=True, eq=False)
class EpochPlan:
    """An epoch's batches: ``rows[s]`` is the global batch of step ``s`` (``num_replicas * batch_size`` rows).

    Args:
        rows (np.ndarray): ``(S, G)`` dataset row of each slot.
        kinds (np.ndarray): ``(S, G)`` kind (``q * L + p``) of each slot.
        batch_size (int): rows per batch (per process).
        repair_rounds (int): conflict-repair rounds that planning needed.
        redrawn (int): slots whose row was redrawn from its pool because swapping could not make their batch free
            of repeats (pools where one passage answers more questions than a pass has batches).
    """

    rows: np.ndarray
    kinds: np.ndarray
    batch_size: int
    repair_rounds: int = 0
    redrawn: int = 0

    @property
    def num_steps(self) -> int:
        return int(self.rows.shape[0])

    def batches(self) -> np.ndarray:
        """``(S * num_replicas, batch_size)``: the batches in the order the DataLoader gets them (step by step;
        within a step, rank 0's batch first)."""
        return self.rows.reshape(-1, self.batch_size)

    def kind_counts(self, num_steps: int | None = None, start: int = 0, num_kinds: int | None = None) -> np.ndarray:
        """Rows per kind over steps ``[start, start + num_steps)`` (default: all)."""
        stop = self.num_steps if num_steps is None else min(self.num_steps, start + num_steps)
        flat = self.kinds[start:stop].ravel()
        return np.bincount(flat, minlength=num_kinds or 0)


def _round_random(x: float, rng: np.random.Generator) -> int:
    """``floor(x)`` or ``ceil(x)``, with expectation exactly ``x``."""
    low = math.floor(x)
    return low + int(rng.random() < x - low)


def _apportion(n: int, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Split ``n`` into integer counts with expectation ``n * weights`` and each within 1 of it.

    The remainder goes to indices picked by systematic sampling on the fractional parts, which gives each index
    exactly its fractional part as probability.
    """
    expected = n * weights
    counts = np.floor(expected).astype(np.int64)
    fractions = expected - counts
    remainder = n - int(counts.sum())
    if remainder > 0:
        edges = np.cumsum(fractions)
        edges *= remainder / edges[-1]  # guard the rounding of the sum
        points = rng.random() + np.arange(remainder)
        picked = np.searchsorted(edges, points, side="right")
        np.add.at(counts, np.minimum(picked, len(counts) - 1), 1)
    return counts


def _quota_draw(n: int, weights: np.ndarray, rng: np.random.Generator, dtype: type) -> np.ndarray:
    """``n`` kinds in random order, each kind ``k`` about ``n * weights[k]`` times."""
    ids = np.flatnonzero(weights > 0)
    if n == 0:
        return np.empty(0, dtype=dtype)
    counts = _apportion(n, weights[ids] / weights[ids].sum(), rng)
    out = np.repeat(ids.astype(dtype), counts)
    rng.shuffle(out)
    return out


def _split_xx(n: int, alpha: float, w_xx: np.ndarray, rng: np.random.Generator,
              dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """Which of ``n`` units (steps or slots) are X-X -- ``round(α·n)`` of them, in random order -- and the kinds of
    the X-X ones, drawn by quota (the others are 0, for the caller to fill)."""
    n_xx = _round_random(alpha * n, rng)
    is_xx = np.zeros(n, dtype=bool)
    is_xx[:n_xx] = True
    rng.shuffle(is_xx)
    kinds = np.zeros(n, dtype=dtype)
    kinds[is_xx] = _quota_draw(n_xx, w_xx, rng, dtype)
    return is_xx, kinds


def _draw_slot_kinds(
    num_steps: int,
    global_batch: int,
    alpha: float,
    w_xx: np.ndarray,
    w_xy: np.ndarray,
    xy_mode: XYMode,
    mixing: Mixing,
    rng: np.random.Generator,
) -> np.ndarray:
    """``(S * G,)`` kind of every slot: by step for ``mixing="batch"`` (X-Y by slot with ``pair_per_example``),
    else by slot."""
    dtype = np.int16 if len(w_xx) < np.iinfo(np.int16).max else np.int32
    if mixing != "batch":
        slot_xx, kinds = _split_xx(num_steps * global_batch, alpha, w_xx, rng, dtype)
        kinds[~slot_xx] = _quota_draw(int((~slot_xx).sum()), w_xy, rng, dtype)
        return kinds
    step_xx, step_kind = _split_xx(num_steps, alpha, w_xx, rng, dtype)
    if xy_mode == "pair_per_batch":
        step_kind[~step_xx] = _quota_draw(int((~step_xx).sum()), w_xy, rng, dtype)
    kinds = np.repeat(step_kind, global_batch)
    if xy_mode == "pair_per_example":
        xy_slots = ~np.repeat(step_xx, global_batch)
        kinds[xy_slots] = _quota_draw(int(xy_slots.sum()), w_xy, rng, dtype)
    return kinds


def _deal_rows(
    kinds: np.ndarray,
    pools: KindPools,
    meta: PairMetadata,
    global_batch: int,
    homogeneous: np.ndarray,
    rng: np.random.Generator,
    row_dtype: type,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Give every slot a row of its kind: each kind's slots (in step order) take reshuffled passes over its pool.

    For a *homogeneous* kind (one that fills whole global batches) a batch that straddles two passes would meet the
    same item twice; the next pass is therefore reordered so that its first rows avoid the items and texts of the
    previous pass's tail. Returns the slots' rows and the *reserve*: the unused rest of each kind's last pass
    (rows and kinds), which repair may swap in.
    """
    num_kinds = len(pools.counts)
    need = np.bincount(kinds, minlength=num_kinds)
    slot_order = np.argsort(kinds, kind="stable")
    slot_starts = np.zeros(num_kinds + 1, dtype=np.int64)
    np.cumsum(need, out=slot_starts[1:])
    rows = np.empty(kinds.shape[0], dtype=row_dtype)
    reserve_rows, reserve_kinds = [], []
    for k in np.flatnonzero(need):
        pool = pools.pool(int(k))
        size, wanted = pool.shape[0], int(need[k])
        passes = [pool[rng.permutation(size)]]
        dealt = size
        while dealt < wanted:
            order = pool[rng.permutation(size)]
            straddle = dealt % global_batch
            if homogeneous[k] and straddle:
                order = _avoid_tail(order, passes[-1][size - straddle:], global_batch - straddle, meta)
            passes.append(order)
            dealt += size
        stream = np.concatenate(passes) if len(passes) > 1 else passes[0]
        rows[slot_order[slot_starts[k]:slot_starts[k + 1]]] = stream[:wanted]
        rest = stream[wanted:]
        reserve_rows.append(rest)
        reserve_kinds.append(np.full(rest.shape[0], k, dtype=kinds.dtype))
    if reserve_rows:
        return rows, np.concatenate(reserve_rows).astype(row_dtype), np.concatenate(reserve_kinds)
    return rows, np.empty(0, dtype=row_dtype), np.empty(0, dtype=kinds.dtype)


def _avoid_tail(order: np.ndarray, tail: np.ndarray, head: int, meta: PairMetadata) -> np.ndarray:
    """Reorder a pass so that its first ``head`` rows share no item or text with ``tail`` (where possible)."""
    bad = np.isin(meta.item[order], meta.item[tail])
    if meta.texts.shape[1]:
        tail_texts = meta.texts[tail].ravel()
        bad |= np.isin(meta.texts[order], tail_texts[tail_texts >= 0]).any(axis=1)
    good, rest = order[~bad], order[bad]
    return np.concatenate([good[:head], rest, good[head:]])


def plan_epoch(
    meta: PairMetadata,
    pools: KindPools,
    *,
    batch_size: int,
    num_steps: int,
    alpha: float,
    weights: tuple[np.ndarray, np.ndarray],
    num_replicas: int = 1,
    xy_mode: XYMode = "pair_per_batch",
    mixing: Mixing = "batch",
    seed: int = 0,
) -> EpochPlan:
    """Plan one epoch: ``num_steps`` global batches of ``num_replicas * batch_size`` rows.

    A pure function of its arguments (the random generator is ``numpy.random.default_rng(seed)``). See
    :class:`~hybrid_plugin.sampling.HybridBatchSampler` for what the plan guarantees.
    """
    rng = np.random.default_rng(seed)
    global_batch = batch_size * num_replicas
    w_xx, w_xy = weights
    kinds = _draw_slot_kinds(num_steps, global_batch, alpha, w_xx, w_xy, xy_mode, mixing, rng)
    homogeneous = meta.is_xx() if mixing == "batch" else np.zeros(meta.num_kinds, dtype=bool)
    if mixing == "batch" and xy_mode == "pair_per_batch":
        homogeneous[:] = True
    rows, reserve_rows, reserve_kinds = _deal_rows(kinds, pools, meta, global_batch, homogeneous, rng,
                                                   _index_dtype(meta.num_rows))
    rounds, redrawn = repair_batches(rows, kinds, reserve_rows, reserve_kinds, global_batch=global_batch,
                                     homogeneous=homogeneous, pools=pools, meta=meta, rng=rng)
    return EpochPlan(rows.reshape(num_steps, global_batch), kinds.reshape(num_steps, global_batch), batch_size,
                     rounds, redrawn)
