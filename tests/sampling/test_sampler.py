"""The hybrid sampling engine (metadata, planning, repair) through HybridBatchSampler: its invariants,
property-tested against plain reference code. (Planning time is measured in benchmarks/sampler/bench_sampler.py.)"""

from __future__ import annotations

import functools
import pickle
from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.sampling.metadata import PairMetadata, hide_metadata_columns
from hybrid_plugin.sampling.planning import KindPools, _apportion, kind_weights
from hybrid_plugin.sampling.repair import conflict_mask
from hybrid_plugin.sampling.sampler import HybridBatchSampler, find_hybrid_sampler

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------------- generated data


@st.composite
def parallel_metadata(draw, hard_negatives=None):
    """Small parallel collections: items in random subsets of 2-4 languages, some passages shared by two items."""
    num_languages = draw(st.integers(2, 4))
    num_items = draw(st.integers(24, 60))
    full = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    items, qlang, plang, pos = [], [], [], []
    shared = draw(st.floats(0.0, 0.3))
    text_of = {}
    for i in range(num_items):
        langs = list(range(num_languages)) if full else sorted(
            rng.choice(num_languages, size=int(rng.integers(2, num_languages + 1)), replace=False).tolist())
        for p in langs:
            # a passage shared with the previous item (same sentence answers both) now and then
            if i > 0 and rng.random() < shared and (i - 1, p) in text_of:
                text_of[(i, p)] = text_of[(i - 1, p)]
            else:
                text_of[(i, p)] = len(text_of) + 10_000
            for q in langs:
                items.append(i)
                qlang.append(q)
                plang.append(p)
                pos.append(text_of[(i, p)])
    with_negatives = draw(st.booleans()) if hard_negatives is None else hard_negatives
    texts = np.asarray(pos)[:, None]
    if with_negatives:
        # hard negatives: often another item's positive in the same language (as same-paragraph sentences are),
        # sometimes shared between pairs
        pos_a = np.asarray(pos)
        neg = np.where(rng.random(len(pos)) < 0.15, np.roll(pos_a, int(rng.integers(1, 9)) * num_languages),
                       1_000_000 + rng.integers(0, 40, size=len(pos)))
        texts = np.concatenate([texts, neg[:, None]], axis=1)
    languages = ["en", "de", "es", "zh"][:num_languages]
    return PairMetadata.from_arrays(items, qlang, plang, languages, texts=texts)


sampler_options = st.fixed_dictionaries({
    "batch_size": st.integers(2, 5),
    "num_replicas": st.integers(1, 3),
    "alpha": st.sampled_from([0.0, 0.25, 0.5, 1.0]) | st.floats(0.0, 1.0),
    "language_weights": st.sampled_from(["uniform", "size"]),
    "xy_mode": st.sampled_from(["pair_per_batch", "pair_per_example"]),
    "mixing": st.sampled_from(["batch", "example"]),
    "seed": st.integers(0, 1000),
})


def make_sampler(meta: PairMetadata, options: dict) -> HybridBatchSampler:
    """The sampler, for draws that leave room: every kind in the draw has at least twice as many distinct items and
    positives as a global batch (tighter data may be impossible to batch without repeats; the sampler then raises
    DataError, see test_unfillable_pools_are_left_out_and_impossible_batches_rejected)."""
    try:
        sampler = HybridBatchSampler(meta, **options)
    except UsageError:
        assume(False)  # a draw with too few items for the batch: rejected with a clear error, not a test case
        raise
    used = (sampler.weights[0] > 0) | (sampler.weights[1] > 0)
    room = np.minimum(sampler.pools.distinct_items, sampler.pools.distinct_texts)[used]
    assume(room.min() >= 2 * sampler.global_batch_size)
    return sampler


# ---------------------------------------------------------------------------------------------- reference code


def reference_violations(batch_rows, meta: PairMetadata) -> list[str]:
    """Plain-Python check of one global batch: no item twice, no positive passage twice, no hard negative that is
    a positive of the batch (the false in-batch negatives of MultipleNegativesRankingLoss)."""
    found = []
    items = [int(meta.item[r]) for r in batch_rows]
    if len(set(items)) != len(items):
        found.append(f"repeated item {Counter(items).most_common(1)}")
    if meta.texts.shape[1]:
        positives = [int(meta.texts[r, 0]) for r in batch_rows]
        if len(set(positives)) != len(positives):
            found.append(f"repeated positive {Counter(positives).most_common(1)}")
        negatives = {int(t) for r in batch_rows for t in meta.texts[r, 1:] if t >= 0}
        if negatives & set(positives):
            found.append(f"hard negative equal to a positive: {sorted(negatives & set(positives))[:3]}")
    return found


def reference_weights(meta: PairMetadata, global_batch: int, language_weights: str, xy_mode: str, mixing: str):
    """Plain-Python draw weights: which (q, p) kinds are usable and with what weight."""
    rows_of = defaultdict(list)
    for r in range(meta.num_rows):
        rows_of[(int(meta.query_language[r]), int(meta.passage_language[r]))].append(r)
    xx, xy = {}, {}
    for (q, p), rows in rows_of.items():
        fills_batch = mixing == "batch" and (q == p or xy_mode == "pair_per_batch")
        items = {int(meta.item[r]) for r in rows}
        positives = {int(meta.texts[r, 0]) for r in rows} if meta.texts.shape[1] else set(rows)
        big_enough = len(items) >= global_batch and len(positives) >= global_batch
        if fills_batch and not big_enough:
            continue
        (xx if q == p else xy)[(q, p)] = len(rows) if language_weights == "size" else 1.0
    norm = lambda d: {k: v / sum(d.values()) for k, v in d.items()}  # noqa: E731
    return norm(xx), norm(xy)


# ---------------------------------------------------------------------------------------------- invariants


@PROPERTY
@given(meta=parallel_metadata(), options=sampler_options, epoch=st.integers(0, 3))
def test_every_batch_is_full_homogeneous_and_free_of_repeats(meta, options, epoch):
    sampler = make_sampler(meta, options)
    sampler.set_epoch(epoch)
    batches = list(sampler)
    n, bs = sampler.num_replicas, options["batch_size"]
    assert len(batches) == len(sampler) == sampler.num_steps * n
    assert all(len(b) == bs for b in batches)
    for step in range(sampler.num_steps):
        rows = [r for b in batches[step * n:(step + 1) * n] for r in b]  # the global batch of this step
        assert reference_violations(rows, meta) == []
        kinds = {(int(meta.query_language[r]), int(meta.passage_language[r])) for r in rows}
        if options["mixing"] == "batch":
            xx = {q == p for q, p in kinds}
            assert len(xx) == 1, "a batch mixes X-X and X-Y pairs"
            if xx == {True}:
                assert len(kinds) == 1, "an X-X batch has one language"
            elif options["xy_mode"] == "pair_per_batch":
                assert len(kinds) == 1, "an X-Y batch (pair_per_batch) has one language pair"
    assert not conflict_mask(sampler.plan().rows, meta).any()


@PROPERTY
@given(meta=parallel_metadata(), options=sampler_options)
def test_x_x_share_is_alpha_by_quota(meta, options):
    sampler = make_sampler(meta, options)
    plan = sampler.plan()
    is_xx = meta.query_language[plan.rows] == meta.passage_language[plan.rows]
    alpha = options["alpha"]
    if options["mixing"] == "batch":
        steps_xx = int(is_xx.all(axis=1).sum())
        assert abs(steps_xx - alpha * sampler.num_steps) < 1.0  # floor or ceil of alpha * steps
    else:
        assert abs(int(is_xx.sum()) - alpha * is_xx.size) < 1.0


@PROPERTY
@given(meta=parallel_metadata(), options=sampler_options)
def test_draw_weights_match_the_reference(meta, options):
    sampler = make_sampler(meta, options)
    ref_xx, ref_xy = reference_weights(meta, sampler.global_batch_size, options["language_weights"],
                                       options["xy_mode"], options["mixing"])
    w_xx, w_xy = sampler.weights
    L = meta.num_languages
    got_xx = {divmod(int(k), L): float(w_xx[k]) for k in np.flatnonzero(w_xx)}
    got_xy = {divmod(int(k), L): float(w_xy[k]) for k in np.flatnonzero(w_xy)}
    assert got_xx.keys() == ref_xx.keys() and got_xy.keys() == ref_xy.keys()
    for got, ref in ((got_xx, ref_xx), (got_xy, ref_xy)):
        for key in ref:
            assert got[key] == pytest.approx(ref[key])


paper_options = sampler_options.map(lambda o: {**o, "mixing": "batch", "xy_mode": "pair_per_batch"})


@PROPERTY
@given(meta=parallel_metadata(hard_negatives=False), options=paper_options)
def test_languages_and_pairs_are_drawn_by_their_weights(meta, options):
    """Quota draws: every X-X language (X-Y pair) gets its expected number of batches, within one."""
    sampler = make_sampler(meta, options)
    plan = sampler.plan()
    step_kind = plan.kinds[:, 0].astype(int)
    is_xx = meta.is_xx()[step_kind]
    w_xx, w_xy = sampler.weights
    for weights, steps in ((w_xx, step_kind[is_xx]), (w_xy, step_kind[~is_xx])):
        counts = np.bincount(steps, minlength=meta.num_kinds)
        expected = weights * steps.size
        assert np.all(np.abs(counts - expected) < 1.0 + 1e-9)
        assert set(np.flatnonzero(counts)) <= set(np.flatnonzero(weights))


@PROPERTY
@given(meta=parallel_metadata(), options=paper_options)
def test_rows_of_a_kind_are_used_once_before_any_is_reused(meta, options):
    sampler = make_sampler(meta, options)
    plan = sampler.plan()
    assume(plan.redrawn == 0)
    kind = meta.kind_of_row()
    uses = np.bincount(plan.rows.ravel(), minlength=meta.num_rows)
    for k in np.unique(plan.kinds):
        in_kind = uses[kind == k]
        assert in_kind.max() - in_kind.min() <= 1


@PROPERTY
@given(meta=parallel_metadata(), options=sampler_options, epoch=st.integers(0, 5))
def test_same_seed_and_epoch_give_the_same_batches(meta, options, epoch):
    first = make_sampler(meta, options)
    second = HybridBatchSampler(meta, **options)
    first.set_epoch(epoch)
    second.set_epoch(epoch)
    batches = list(first)
    assert batches == list(second) == list(first)
    # resuming: a fresh sampler set to the same epoch, skipping k batches, continues the same sequence
    from accelerate.data_loader import SkipBatchSampler

    k = len(batches) // 2
    assert list(SkipBatchSampler(second, skip_batches=k)) == batches[k:]


@PROPERTY
@given(meta=parallel_metadata(), options=sampler_options)
def test_ranks_get_disjoint_batches_of_the_same_kind(meta, options):
    """accelerate's sharding (what torchrun uses) over the sampler: every rank the same number of batches, at every
    step the same kind on every rank and no item or text on two ranks."""
    from accelerate.data_loader import BatchSamplerShard

    sampler = make_sampler(meta, options)
    n = sampler.num_replicas
    ranks = [list(BatchSamplerShard(sampler, num_processes=n, process_index=r, even_batches=False))
             for r in range(n)]
    assert len({len(batches) for batches in ranks}) == 1
    assert len(ranks[0]) == sampler.num_steps
    for step in range(sampler.num_steps):
        per_rank = [ranks[r][step] for r in range(n)]
        assert reference_violations([row for b in per_rank for row in b], meta) == []
        if options["mixing"] == "batch":
            kinds = [{(int(meta.query_language[x]), int(meta.passage_language[x])) for x in b} for b in per_rank]
            xx = [{q == p for q, p in k} for k in kinds]
            assert all(x == xx[0] and len(x) == 1 for x in xx)
            if xx[0] == {True} or options["xy_mode"] == "pair_per_batch":
                assert all(k == kinds[0] and len(k) == 1 for k in kinds)


@given(n=st.integers(0, 10_000), weights=st.lists(st.floats(0.01, 10), min_size=1, max_size=12),
       seed=st.integers(0, 100))
@settings(max_examples=100, deadline=None)
def test_apportion_is_within_one_of_the_expectation(n, weights, seed):
    w = np.asarray(weights) / sum(weights)
    counts = _apportion(n, w, np.random.default_rng(seed))
    assert counts.sum() == n
    assert np.all(np.abs(counts - n * w) < 1.0 + 1e-9)


@PROPERTY
@given(meta=parallel_metadata(), rows_seed=st.integers(0, 1000), size=st.integers(2, 12))
def test_conflict_mask_matches_the_reference(meta, rows_seed, size):
    rows = np.random.default_rng(rows_seed).integers(0, meta.num_rows, size=(4, size))
    mask = conflict_mask(rows, meta)
    for step in range(rows.shape[0]):
        assert (reference_violations(rows[step], meta) == []) == (not mask[step].any())
        # dropping the flagged slots leaves a batch without repeats
        kept = [r for r, bad in zip(rows[step], mask[step]) if not bad]
        assert reference_violations(kept, meta) == []


def test_alpha_converges_over_epochs():
    meta = PairMetadata.from_arrays(*_full_grid(200, 3), ["en", "de", "es"], texts=_full_grid_texts(200, 3))
    sampler = HybridBatchSampler(meta, 10, num_replicas=1, alpha=0.3, steps_per_epoch=7)
    shares = []
    for epoch in range(60):
        sampler.set_epoch(epoch)
        plan = sampler.plan()
        shares.append((meta.query_language[plan.rows[:, 0]] == meta.passage_language[plan.rows[:, 0]]).mean())
    assert {round(s * 7) for s in shares} <= {2, 3}  # 0.3 * 7 = 2.1 -> 2 or 3 X-X steps per epoch
    assert np.mean(shares) == pytest.approx(0.3, abs=0.03)


def _full_grid(num_items, num_languages):
    grid = np.array([(i, q, p) for i in range(num_items) for q in range(num_languages)
                     for p in range(num_languages)])
    return grid[:, 0], grid[:, 1], grid[:, 2]


def _full_grid_texts(num_items, num_languages):
    item, _, p = _full_grid(num_items, num_languages)
    return item * num_languages + p


# ---------------------------------------------------------------------------------------------- datasets & API


@pytest.fixture(scope="module")
def rows():
    from datasets import Dataset

    data = {"anchor": [], "positive": [], "hybrid_item": [], "hybrid_query_language": [],
            "hybrid_passage_language": []}
    for i in range(12):
        for q in ("en", "de"):
            for p in ("en", "de"):
                data["anchor"].append(f"question {i} in {q}")
                data["positive"].append(f"answer {i} in {p}")
                data["hybrid_item"].append(i)
                data["hybrid_query_language"].append(q)
                data["hybrid_passage_language"].append(p)
    return Dataset.from_dict(data)


def test_metadata_stays_out_of_the_rows_the_collator_sees(rows):
    hidden = hide_metadata_columns(rows)
    assert set(hidden[0]) == {"anchor", "positive"}
    assert [set(r) for r in hidden.__getitems__([0, 5])] == [{"anchor", "positive"}] * 2
    sampler = HybridBatchSampler(hidden, 4, num_replicas=1, alpha=0.5)
    assert sampler.metadata.languages == ("en", "de") or sampler.metadata.languages == ("de", "en")
    # text ids come from the visible passage column when the dataset has none
    assert sampler.metadata.texts.shape == (48, 1)
    assert len(set(sampler.metadata.texts[:, 0].tolist())) == 24
    with pytest.raises(UsageError, match="would reach the loss"):
        HybridBatchSampler(rows, 4, num_replicas=1)
    with pytest.raises(UsageError, match="needs the metadata columns"):
        HybridBatchSampler(rows.select_columns(["anchor", "positive"]), 4, num_replicas=1)


def test_metadata_follows_select_and_shuffle(rows):
    hidden = hide_metadata_columns(rows).shuffle(seed=3)
    sampler = HybridBatchSampler(hidden, 4, num_replicas=1, alpha=1.0)
    for batch in sampler:
        texts = [hidden[i]["anchor"] for i in batch]
        langs = {t.rsplit(" ", 1)[1] for t in texts}
        passages = {hidden[i]["positive"].rsplit(" ", 1)[1] for i in batch}
        assert len(langs) == 1 and langs == passages  # X-X: one language, read through the shuffled indices


def test_configure_gives_a_picklable_partial_for_the_training_arguments(rows):
    from sentence_transformers import SentenceTransformerTrainingArguments

    factory = HybridBatchSampler.configure(alpha=0.25, language_weights="size")
    assert isinstance(factory, functools.partial) and factory.func is HybridBatchSampler
    args = SentenceTransformerTrainingArguments("unused", batch_sampler=factory, report_to="none")
    copy = pickle.loads(pickle.dumps(args.batch_sampler))
    assert (copy.func, copy.args, copy.keywords) == (factory.func, factory.args, factory.keywords)
    sampler = factory(hide_metadata_columns(rows), batch_size=4, drop_last=False, valid_label_columns=None,
                      generator=None, seed=7)  # the trainer passes its args.seed
    assert (sampler.alpha, sampler.language_weights, sampler.seed) == (0.25, "size", 7)
    with pytest.raises(UsageError, match="unknown HybridBatchSampler option"):
        HybridBatchSampler.configure(alfa=0.5)
    with pytest.raises(UsageError, match="unknown HybridBatchSampler option.*args.seed"):
        HybridBatchSampler.configure(seed=7)
    with pytest.raises(UsageError, match="alpha must be a number in"):
        HybridBatchSampler.configure(alpha=1.5)
    with pytest.raises(UsageError, match="xy_mode must be one of"):
        HybridBatchSampler.configure(xy_mode="per_pair")


def test_bad_arguments_are_clear_errors(rows):
    hidden = hide_metadata_columns(rows)
    with pytest.raises(UsageError, match="batch_size must be a positive integer"):
        HybridBatchSampler(hidden, 0)
    with pytest.raises(UsageError, match="fewer than one global batch"):
        HybridBatchSampler(hidden, 20, num_replicas=3)
    sampler = HybridBatchSampler(hidden, 4, num_replicas=1)
    with pytest.raises(UsageError, match="alpha must be"):
        sampler.set_alpha(-0.1)


def test_alpha_change_applies_to_the_next_epoch(rows):
    sampler = HybridBatchSampler(hide_metadata_columns(rows), 4, num_replicas=1, alpha=1.0)
    meta = sampler.metadata
    length = len(sampler)
    assert all(meta.query_language[b[0]] == meta.passage_language[b[0]] for b in sampler)
    sampler.set_alpha(0.0)
    sampler.set_epoch(1)
    assert len(sampler) == length
    assert all(meta.query_language[r] != meta.passage_language[r] for b in sampler for r in b)


def test_unfillable_pools_are_left_out_and_impossible_batches_rejected():
    # language "zh" exists for 3 items only: it cannot fill an X-X batch of 4
    item, q, p = _full_grid(10, 2)
    extra = [(i, 2, 2) for i in range(3)]
    meta = PairMetadata.from_arrays(np.r_[item, [e[0] for e in extra]], np.r_[q, [e[1] for e in extra]],
                                    np.r_[p, [e[2] for e in extra]], ["en", "de", "zh"])
    sampler = HybridBatchSampler(meta, 4, num_replicas=1, alpha=1.0)
    assert "zh" not in sampler.describe()["xx_weights"]
    with pytest.raises(UsageError, match="no language pair"):
        HybridBatchSampler(PairMetadata.from_arrays([0, 1, 2, 3], [0] * 4, [0] * 4, ["en"]), 2, num_replicas=1,
                           alpha=0.5)
    # every pair shares one passage text: no batch of 2 can avoid repeating it
    shared = PairMetadata.from_arrays(item, q, p, ["en", "de"], texts=np.zeros(len(item), dtype=int))
    with pytest.raises(UsageError, match="no language"):
        HybridBatchSampler(shared, 2, num_replicas=1, alpha=0.5)
    mixed = HybridBatchSampler(shared, 2, num_replicas=1, alpha=0.5, mixing="example")
    with pytest.raises(DataError, match="cannot form batches"):
        mixed.plan()


def test_find_hybrid_sampler_unwraps_dataloaders(rows):
    from torch.utils.data import DataLoader

    sampler = HybridBatchSampler(hide_metadata_columns(rows), 4, num_replicas=1)
    loader = DataLoader(hide_metadata_columns(rows), batch_sampler=sampler, collate_fn=list)
    assert find_hybrid_sampler(loader) is sampler
    assert find_hybrid_sampler(DataLoader(range(4))) is None


def test_planning_a_million_pairs():
    """A smaller version of the benchmark (which measures the time: benchmarks/sampler/bench_sampler.py): 1 million
    pairs give a full plan whose batches follow the in-batch rule."""
    item, q, p = _full_grid(10_000, 10)
    meta = PairMetadata.from_arrays(item, q, p, [f"l{i}" for i in range(10)], texts=item * 10 + p)
    sampler = HybridBatchSampler(meta, 100, num_replicas=1, xy_mode="pair_per_example")
    plan = sampler.plan()
    assert plan.rows.shape == (10_000, 100)
    assert not conflict_mask(plan.rows[:500], meta).any()


def test_kind_weights_size_mode_is_proportional():
    item, q, p = _full_grid(40, 2)
    keep = ~((q == 1) & (p == 1) & (item >= 30))  # "de" X-X has 30 items, "en" 40
    meta = PairMetadata.from_arrays(item[keep], q[keep], p[keep], ["en", "de"])
    w_xx, _ = kind_weights(meta, KindPools.build(meta), global_batch=4, language_weights="size")
    assert w_xx[0] == pytest.approx(40 / 70) and w_xx[3] == pytest.approx(30 / 70)
