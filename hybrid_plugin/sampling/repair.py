"""Repairing planned batches so that none holds a false in-batch negative.

The rule (:func:`conflict_mask`): no global batch holds an item twice or a positive passage text twice, and no hard
negative equals a positive of its batch. Planning deals rows kind by kind without looking at their neighbours;
:func:`repair_batches` then fixes the conflicting slots in rounds, each round vectorised over all of them:

* **swaps** (phase 1, up to 40 rounds): a conflicting slot trades its row with a random partner that may take its
  place -- a slot of the same kind (and that kind's *reserve*, the unused rest of its last pass) when the kind
  fills whole batches, any other mixed slot otherwise -- and a trade is accepted only when it brings no conflict
  into either batch (:func:`_swap_safe`). Conflicts only decrease and every row's uses stay within one of each
  other's.
* **redraws** (phase 2, for what swaps cannot solve -- one passage answering more questions than a pass has
  batches): every other round a conflicting slot (or another slot of its batch) gets a row drawn from its kind's
  pool; in the second half of the rounds a mixed slot may draw from every kind the epoch's mixed slots use.

Choosing the kinds and dealing the rows is :mod:`hybrid_plugin.sampling.planning`'s job, not this module's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

from hybrid_plugin.errors import DataError

if TYPE_CHECKING:  # (repair reads the metadata; it needs not import pyarrow to do so)
    from hybrid_plugin.sampling.metadata import PairMetadata

__all__ = ["MAX_REPAIR_ROUNDS", "conflict_mask", "repair_batches"]

MAX_REPAIR_ROUNDS = 500
"""Rounds of conflict repair before planning gives up (a data set that cannot be batched without repeats)."""

_SWAP_ROUNDS = 40  # repair rounds that only swap (keeping every row's number of uses) ...
_STALL_ROUNDS = 10  # ... unless this many pass without progress; then swaps alternate with redraws
_CHUNK_SLOTS = 1 << 20  # slots checked at once when scanning a whole epoch for conflicts (bounds temporary memory)


class Pools(Protocol):
    """What repair reads of :class:`~hybrid_plugin.sampling.planning.KindPools`: the rows of each kind."""

    order: np.ndarray
    starts: np.ndarray
    counts: np.ndarray

    def pool(self, kind: int) -> np.ndarray: ...


# ---------------------------------------------------------------------------------------------------- the rule


def _later_duplicates(values: np.ndarray, ignore: int | None = None) -> np.ndarray:
    """``(m, n)`` bool: ``values[i, j]`` repeats a value that occurs earlier in row ``i`` (``ignore`` never does)."""
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    dup = np.zeros(ordered.shape, dtype=bool)
    np.equal(ordered[:, 1:], ordered[:, :-1], out=dup[:, 1:])
    if ignore is not None:
        dup &= ordered != ignore
    out = np.empty_like(dup)
    np.put_along_axis(out, order, dup, axis=1)
    return out


def conflict_mask(rows: np.ndarray, meta: PairMetadata) -> np.ndarray:
    """``(m, G)`` bool: the slots that make their global batch (a row of ``rows``) break the in-batch rule.

    The rule (no false in-batch negatives): no item twice, no positive passage twice, no hard negative equal to a
    positive of the batch. Of two slots repeating an item or a positive the later one is flagged; a slot whose
    hard negative is another slot's positive is flagged. (Two equal hard negatives are allowed: a hard negative
    is a negative for every query of the batch anyway.)
    """
    mask = _later_duplicates(meta.item[rows])
    if meta.texts.shape[1]:
        positives = meta.texts[rows, 0]  # (m, G)
        mask |= _later_duplicates(positives, ignore=-1)
        if meta.texts.shape[1] > 1:
            steps = np.arange(rows.shape[0])
            held = _StepIndex(steps, positives, None, int(meta.texts.max()) + 2)
            negatives = meta.texts[rows, 1:]  # (m, G, T-1)
            hit = held.holds(np.repeat(steps, rows.shape[1]), negatives.reshape(-1, negatives.shape[2]))
            mask |= hit.reshape(rows.shape)
    return mask


def _conflicting_slots(
    rows: np.ndarray, steps: np.ndarray | None, meta: PairMetadata, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Flat slot indices in conflict, over the given steps of ``rows`` ``(S, G)`` (None: all, in chunks).

    Of two slots that repeat each other, the later one is flagged; with ``rng``, "later" is in a random order of
    the batch's slots, so that repair tries moving either of them."""
    global_batch = rows.shape[1]
    if rng is not None and steps is not None:
        order = rng.permutation(global_batch)
        si, sj = np.nonzero(conflict_mask(rows[steps][:, order], meta))
        return steps[si].astype(np.int64) * global_batch + order[sj]
    if steps is None:
        chunk = max(1, _CHUNK_SLOTS // max(global_batch, 1))
        found = []
        for start in range(0, rows.shape[0], chunk):
            si, sj = np.nonzero(conflict_mask(rows[start:start + chunk], meta))
            found.append((si + start).astype(np.int64) * global_batch + sj)
        return np.concatenate(found) if found else np.empty(0, dtype=np.int64)
    si, sj = np.nonzero(conflict_mask(rows[steps], meta))
    return steps[si].astype(np.int64) * global_batch + sj


class _StepIndex:
    """Which values (items, texts) the given steps hold, for vectorised membership queries ``(step, value)``.

    ``values[grid[steps]]`` are the held values (``values=None``: ``grid`` already holds the values of ``steps``).
    """

    def __init__(self, steps: np.ndarray, grid: np.ndarray, values: np.ndarray | None, span: int) -> None:
        self.span = span
        held = grid if values is None else values[grid[steps]]  # (m, G) or (m, G, T)
        keys = (steps.astype(np.int64).reshape((-1,) + (1,) * (held.ndim - 1)) * span + held + 1)
        self.keys = np.sort(keys[held >= 0])

    def holds(self, steps: np.ndarray, values: np.ndarray) -> np.ndarray:
        """``(n,)`` bool: step ``steps[i]`` holds any of ``values[i]`` (a vector or ``(n, T)``; -1 never counts)."""
        if values.ndim == 1:
            values = values[:, None]
        if self.keys.size == 0:
            return np.zeros(values.shape[0], dtype=bool)
        queries = steps.astype(np.int64)[:, None] * self.span + values + 1
        at = np.minimum(np.searchsorted(self.keys, queries), self.keys.size - 1)
        return ((self.keys[at] == queries) & (values >= 0)).any(axis=1)


def _repeats_arrivals(
    my_step: np.ndarray,
    their_step: np.ndarray,
    in_batch: np.ndarray,
    incoming: np.ndarray,
    outgoing: np.ndarray,
    meta: PairMetadata,
    item_span: int,
    text_span: int,
) -> np.ndarray:
    """``(n,)`` bool: proposal ``i`` brings an item or text into a batch that another proposal also brings."""
    n = my_step.size
    owner = (np.arange(n), np.flatnonzero(in_batch))
    arrival_steps = (my_step.astype(np.int64), their_step[in_batch].astype(np.int64))
    arrival_rows = (incoming, outgoing[in_batch])
    keys, owners = [], []
    for steps, rows, who in zip(arrival_steps, arrival_rows, owner):
        keys.append((steps * item_span + meta.item[rows]) * 2)  # items: even keys
        owners.append(who)
        for j in range(meta.texts.shape[1]):
            texts = meta.texts[rows, j]
            has = texts >= 0
            keys.append((steps[has] * text_span + texts[has]) * 2 + 1)  # texts: odd keys
            owners.append(who[has])
    all_keys, all_owners = np.concatenate(keys), np.concatenate(owners)
    order = np.lexsort((all_owners, all_keys))
    sorted_keys, sorted_owners = all_keys[order], all_owners[order]
    repeat = np.zeros(sorted_keys.size, dtype=bool)
    np.equal(sorted_keys[1:], sorted_keys[:-1], out=repeat[1:])
    repeat[1:] &= sorted_owners[1:] != sorted_owners[:-1]
    bad = np.zeros(n, dtype=bool)
    bad[sorted_owners[repeat]] = True
    return bad


def _swap_safe(
    my_step: np.ndarray,
    their_step: np.ndarray,
    incoming: np.ndarray,
    outgoing: np.ndarray | None,
    grid: np.ndarray,
    meta: PairMetadata,
    spans: tuple[int, int],
) -> np.ndarray:
    """``(n,)`` bool: moving row ``incoming[i]`` into batch ``my_step[i]`` (and, for a swap, ``outgoing[i]`` into
    batch ``their_step[i]`` when that is a batch) repeats no item or text there, nor one that another accepted
    move brings there."""
    num_steps = grid.shape[0]
    in_batch = their_step < num_steps if outgoing is not None else np.zeros(my_step.size, dtype=bool)
    steps = np.unique(np.concatenate([my_step, their_step[in_batch]]))
    items = _StepIndex(steps, grid, meta.item, spans[0])
    bad = items.holds(my_step, meta.item[incoming])
    if outgoing is not None:
        bad[in_batch] |= items.holds(their_step[in_batch], meta.item[outgoing[in_batch]])
    if meta.texts.shape[1]:
        # an arriving positive must be new to the batch's positives and negatives, an arriving negative new to
        # its positives
        positives = _StepIndex(steps, grid, meta.texts[:, 0], spans[1])
        everything = _StepIndex(steps, grid, meta.texts, spans[1])
        moves = [(my_step, incoming, np.ones(my_step.size, dtype=bool))]
        if outgoing is not None:
            moves.append((their_step, outgoing, in_batch))
        for step, rows, where in moves:
            step, rows = step[where], rows[where]
            hit = everything.holds(step, meta.texts[rows, 0])
            if meta.texts.shape[1] > 1:
                hit |= positives.holds(step, meta.texts[rows, 1:])
            bad[where] |= hit
    out = outgoing if outgoing is not None else incoming  # (no batch receives it: in_batch is all False)
    bad |= _repeats_arrivals(my_step, their_step, in_batch, incoming, out, meta, *spans)
    return ~bad


# ---------------------------------------------------------------------------------------------------- the engine


class _Repair:
    """One repair in progress: the epoch's slots followed by the reserve, and which slots may trade places.

    Trading classes: a homogeneous kind (one that fills whole global batches) trades with its own kind and its
    reserve, mixed slots with each other (not with the reserve, which would change the epoch's count of a kind).
    """

    def __init__(self, rows: np.ndarray, kinds: np.ndarray, reserve_rows: np.ndarray, reserve_kinds: np.ndarray,
                 global_batch: int, homogeneous: np.ndarray, pools: Pools, meta: PairMetadata,
                 rng: np.random.Generator) -> None:
        self.meta, self.pools, self.rng, self.global_batch = meta, pools, rng, global_batch
        self.num_slots = rows.shape[0]
        self.num_steps = self.num_slots // global_batch
        self.rows = np.concatenate([rows, reserve_rows])
        self.kinds = np.concatenate([kinds, reserve_kinds]).astype(np.int64)
        self.mixed = meta.num_kinds  # the class of mixed slots; mixed rows of the reserve get mixed + 1
        classes = np.where(homogeneous[self.kinds], self.kinds, self.mixed)
        classes[self.num_slots:][~homogeneous[self.kinds[self.num_slots:]]] = self.mixed + 1
        self.classes = classes
        self.class_order = np.argsort(classes, kind="stable")
        self.class_counts = np.bincount(classes, minlength=self.mixed + 2)
        self.class_starts = np.zeros(self.class_counts.size + 1, dtype=np.int64)
        np.cumsum(self.class_counts, out=self.class_starts[1:])
        self.spans = (int(meta.item.max()) + 2, int(meta.texts.max(initial=-1)) + 2)
        self.in_reserve = np.bincount(reserve_rows, minlength=meta.num_rows).astype(np.int8)  # copies there (0/1)
        self.mixed_rows: np.ndarray | None = None

    def grid(self) -> np.ndarray:
        """``(S, G)`` view of the slots' rows."""
        return self.rows[:self.num_slots].reshape(self.num_steps, self.global_batch)

    def failure(self, conflicts: np.ndarray, rounds: int) -> DataError:
        names = sorted({self.meta.kind_name(k) for k in self.kinds[conflicts[:50]]})
        return DataError(
            f"cannot form batches of {self.global_batch} pairs without repeating an item or a passage text: "
            f"{conflicts.size} conflicts left after {rounds} repair rounds (kinds {', '.join(names)}); "
            "use a smaller batch size or more items"
            + (" (or no hard negatives)" if self.meta.texts.shape[1] > 1 else ""))

    # -- swaps ------------------------------------------------------------------------------------------------
    def _partners(self, conflicts: np.ndarray, my_step: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One random partner of each conflicting slot's class, its step, and whether the pair may trade."""
        c = self.classes[conflicts]
        picks = self.class_starts[c] + (self.rng.random(conflicts.size) * self.class_counts[c]).astype(np.int64)
        partners = self.class_order[picks].astype(np.int64)
        their_step = partners // self.global_batch
        ok = (my_step != their_step) & ~np.isin(partners, conflicts)
        ok[np.setdiff1d(np.arange(partners.size), np.unique(partners, return_index=True)[1])] = False
        # a row may go to the reserve only if no copy of it is there (so uses stay within one of each other)
        to_reserve = ok & (partners >= self.num_slots)
        outgoing = self.rows[conflicts]
        ok[to_reserve] &= self.in_reserve[outgoing[to_reserve]] == 0
        to_reserve &= ok
        first = np.unique(outgoing[to_reserve], return_index=True)[1]
        ok[np.flatnonzero(to_reserve)[np.setdiff1d(np.arange(to_reserve.sum()), first)]] = False
        return partners, their_step, ok

    def swap(self, conflicts: np.ndarray, my_step: np.ndarray) -> np.ndarray:
        """One round of swaps; returns the steps of the partner slots that changed."""
        partners, their_step, ok = self._partners(conflicts, my_step)
        mine, theirs = conflicts[ok], partners[ok]
        if not mine.size:
            return np.empty(0, dtype=np.int64)
        safe = _swap_safe(my_step[ok], their_step[ok], self.rows[theirs], self.rows[mine], self.grid(), self.meta,
                          self.spans)
        mine, theirs = mine[safe], theirs[safe]
        reserve = theirs >= self.num_slots
        self.in_reserve[self.rows[mine[reserve]]] += 1
        self.in_reserve[self.rows[theirs[reserve]]] -= 1
        self.rows[mine], self.rows[theirs] = self.rows[theirs], self.rows[mine]
        self.kinds[mine], self.kinds[theirs] = self.kinds[theirs], self.kinds[mine]
        return theirs[theirs < self.num_slots] // self.global_batch

    # -- redraws ----------------------------------------------------------------------------------------------
    def _any_mixed_row(self, n: int) -> np.ndarray:
        """``n`` random rows of the kinds that the epoch's mixed slots use (a mixed slot's last resort)."""
        if self.mixed_rows is None:
            used = np.unique(self.kinds[:self.num_slots][self.classes[:self.num_slots] == self.mixed])
            self.mixed_rows = np.concatenate([self.pools.pool(int(u)) for u in used]).astype(np.int64)
        return self.mixed_rows[(self.rng.random(n) * self.mixed_rows.size).astype(np.int64)]

    def redraw(self, conflicts: np.ndarray, my_step: np.ndarray, late: bool) -> int:
        """One round of redraws; returns how many slots got a new row."""
        rng, pools = self.rng, self.pools
        # the flagged slot, or (half the time) another slot of its batch: the flagged one may have no replacement
        # that suits the others while one of them has
        kick = rng.random(conflicts.size) < 0.5
        conflicts = conflicts.copy()
        conflicts[kick] = my_step[kick] * self.global_batch + rng.integers(0, self.global_batch, int(kick.sum()))
        conflicts, first = np.unique(conflicts, return_index=True)
        my_step = my_step[first]
        k = self.kinds[conflicts]
        picks = pools.starts[k] + (rng.random(conflicts.size) * pools.counts[k]).astype(np.int64)
        candidates = pools.order[picks].astype(np.int64)
        mixed = self.classes[conflicts] == self.mixed
        anywhere = late and mixed.any()
        if anywhere:
            candidates[mixed] = self._any_mixed_row(int(mixed.sum()))
        safe = _swap_safe(my_step, np.full(conflicts.size, self.num_steps), candidates, None, self.grid(), self.meta,
                          self.spans)
        self.rows[conflicts[safe]] = candidates[safe]
        if anywhere:
            changed = conflicts[safe & mixed]
            self.kinds[changed] = self.meta.kind_of_row_at(self.rows[changed])
        return int(safe.sum())


def repair_batches(
    rows: np.ndarray,
    kinds: np.ndarray,
    reserve_rows: np.ndarray,
    reserve_kinds: np.ndarray,
    *,
    global_batch: int,
    homogeneous: np.ndarray,
    pools: Pools,
    meta: PairMetadata,
    rng: np.random.Generator,
) -> tuple[int, int]:
    """Make every global batch follow the in-batch rule (see :func:`conflict_mask`), in place.

    Args:
        rows (np.ndarray): ``(S * G,)`` row of each slot, step by step; changed in place.
        kinds (np.ndarray): ``(S * G,)`` kind of each slot; changed in place (only by last-resort redraws).
        reserve_rows (np.ndarray): rows of each kind's last pass that the epoch does not use.
        reserve_kinds (np.ndarray): their kinds.
        global_batch (int): slots per step ``G``.
        homogeneous (np.ndarray): ``(K,)`` bool: which kinds fill whole global batches.
        pools (KindPools): the rows of each kind.
        meta (PairMetadata): the rows' items and texts.
        rng (np.random.Generator): the plan's generator.

    Returns:
        tuple[int, int]: the rounds needed and the slots whose row was redrawn (see the module doc).

    Raises:
        DataError: conflicts are left after :data:`MAX_REPAIR_ROUNDS` rounds (the data cannot be batched so).
    """
    num_steps = rows.shape[0] // global_batch
    conflicts = _conflicting_slots(rows.reshape(num_steps, global_batch), None, meta)
    if conflicts.size == 0:
        return 0, 0
    state = _Repair(rows, kinds, reserve_rows, reserve_kinds, global_batch, homogeneous, pools, meta, rng)
    rounds = stalled = redrawn = 0
    best = conflicts.size
    while conflicts.size:
        if rounds == MAX_REPAIR_ROUNDS:
            raise state.failure(conflicts, rounds)
        rounds += 1
        my_step = conflicts // global_batch
        touched = [my_step]
        if (rounds <= _SWAP_ROUNDS and stalled < _STALL_ROUNDS) or rounds % 2 == 0:
            touched.append(state.swap(conflicts, my_step))
        else:
            redrawn += state.redraw(conflicts, my_step, late=rounds > MAX_REPAIR_ROUNDS // 2)
        conflicts = _conflicting_slots(state.grid(), np.unique(np.concatenate(touched)), meta, rng)
        stalled = 0 if conflicts.size < best else stalled + 1
        best = min(best, conflicts.size)
    rows[:] = state.rows[:state.num_slots]
    kinds[:] = state.kinds[:state.num_slots]
    return rounds, redrawn
