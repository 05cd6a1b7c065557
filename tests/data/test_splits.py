"""split_items: a partition by item and paragraph, deterministic for a seed, stable when re-read, both sides valid
collections with disjoint pools; the split is recorded in results (dataset.split)."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid_plugin.data.collection import Candidate, ParallelQA
from hybrid_plugin.data.splits import DataSplit, SplitInfo, check_split_options, split_items
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.evaluation.cells import Cell, DatasetInfo, ModelInfo
from hybrid_plugin.evaluation.results import EvaluationResults
from hybrid_plugin.evaluation.scoring import dataset_info

LANGUAGES = ("en", "de", "es")


def build_collection(paragraph_of: list[int], present: list[tuple[bool, bool]], order_seed: int = 0) -> ParallelQA:
    """Items ``q0..``: item i answers in paragraph ``paragraph_of[i]`` (two sentences per item) in English and,
    where ``present[i]`` says so, in German / Spanish. ``order_seed`` shuffles the order the items are read in."""
    order = list(range(len(paragraph_of)))
    random.Random(order_seed).shuffle(order)
    questions = {lang: {} for lang in LANGUAGES}
    relevant = {lang: {} for lang in LANGUAGES}
    pools: dict[str, dict[int, list[Candidate]]] = {lang: {} for lang in LANGUAGES}
    for i in order:
        for lang, here in zip(LANGUAGES, (True, *present[i])):
            if not here:
                continue
            para = paragraph_of[i]
            sentences = pools[lang].setdefault(para, [])
            for _ in range(2):
                sentences.append(Candidate(f"{lang}-{para}-{len(sentences)}", f"{lang} text {para} {len(sentences)}",
                                           lang, para, len(sentences)))
            questions[lang][f"q{i}"] = f"{lang} question {i}?"
            relevant[lang][f"q{i}"] = sentences[-2].docid
    candidates = {lang: [c for para in sorted(pools[lang]) for c in pools[lang][para]] for lang in LANGUAGES}
    return ParallelQA("toy", LANGUAGES, questions, candidates, relevant, {"toy.json": "0" * 64})


collections = st.integers(2, 40).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, n - 1), min_size=n, max_size=n),
    st.lists(st.tuples(st.booleans(), st.booleans()), min_size=n, max_size=n)))
fractions = st.floats(0.05, 0.95)


def _paragraphs(qa: ParallelQA) -> set[tuple[str, int]]:
    return {(c.language, c.paragraph) for lang in qa.languages for c in qa.candidates[lang]}


def _split_or_skip(qa: ParallelQA, fraction: float, seed: int) -> DataSplit | None:
    target = math.floor(fraction * len(qa.qids) + 0.5)
    if not 0 < target < len(qa.qids):
        with pytest.raises(UsageError, match="leaves the (dev|train) side empty"):
            split_items(qa, fraction, seed=seed)
        return None
    try:
        return split_items(qa, fraction, seed=seed)
    except UsageError as exc:  # every paragraph group is larger than the target
        assert "hold out a larger fraction" in str(exc)
        return None


@settings(max_examples=60, deadline=None)
@given(collections, fractions, st.integers(0, 2**32 - 1))
def test_a_split_is_a_partition_by_item_and_paragraph(shape, fraction, seed):
    qa = build_collection(*shape)
    split = _split_or_skip(qa, fraction, seed)
    if split is None:
        return
    train, dev = set(split.train.qids), set(split.dev.qids)
    assert train | dev == set(qa.qids) and not train & dev
    assert dev == set(split.dev_ids) and list(split.dev_ids) == [q for q in qa.qids if q in dev]
    for side in (split.train, split.dev):  # every language of an item on its side, with the same answer
        for qid in side.qids:
            assert side.item_languages(qid) == qa.item_languages(qid)
            for lang in side.item_languages(qid):
                assert side.positive(qid, lang) == qa.positive(qid, lang)
                assert side.positive(qid, lang) in side.candidates[lang]
    assert not _paragraphs(split.train) & _paragraphs(split.dev)  # no dev sentence on the train side
    target = math.floor(fraction * len(qa.qids) + 0.5)
    assert 0 < len(dev) <= target
    assert split.dev.split == SplitInfo("dev", fraction, seed, len(train), len(dev), split.dev_digest)
    assert split.train.split is not None and split.train.split.side == "train"


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 60), fractions, st.integers(0, 1000))
def test_with_a_paragraph_per_item_the_fraction_holds_within_rounding(n, fraction, seed):
    qa = build_collection(list(range(n)), [(True, True)] * n)
    split = _split_or_skip(qa, fraction, seed)
    if split is not None:
        assert len(split.dev_ids) == math.floor(fraction * n + 0.5)
        assert abs(len(split.dev_ids) - fraction * n) <= 0.5


@settings(max_examples=40, deadline=None)
@given(collections, fractions, st.integers(0, 1000), st.integers(1, 1000))
def test_the_split_is_deterministic_and_does_not_depend_on_the_reading_order(shape, fraction, seed, order_seed):
    qa, reread = build_collection(*shape), build_collection(*shape, order_seed=order_seed)
    split = _split_or_skip(qa, fraction, seed)
    if split is None:
        return
    again = split_items(qa, fraction, seed=seed)
    assert again.dev_ids == split.dev_ids and again.dev.split == split.dev.split
    assert set(split_items(reread, fraction, seed=seed).dev_ids) == set(split.dev_ids)


def test_seeds_give_different_splits():
    qa = build_collection(list(range(100)), [(True, True)] * 100)
    assert len({split_items(qa, 0.1, seed=s).dev_digest for s in range(5)}) == 5


def test_mlqa_r_dev_tenth(mlqa):
    split = split_items(mlqa, 0.1)
    assert (len(split.dev.qids), len(split.train.qids)) == (115, 1033)
    assert split.dev.languages == mlqa.languages and split.dev.checksum == mlqa.checksum
    assert not _paragraphs(split.train) & _paragraphs(split.dev)
    assert split.dev.limit(20).split == split.dev.split  # limiting a side keeps what it is
    split.dev.check_linked()
    split.train.check_linked()


@pytest.mark.parametrize(("fraction", "message"), [
    (0.0, r"--dev-fraction must be a number in \(0, 1\) \(the share of items held out\), got 0.0"),
    (1.0, r"got 1.0"), (-0.1, "got -0.1"), (float("nan"), "got nan"), (True, "got True"), ("0.1", "got '0.1'"),
    (0.01, "--dev-fraction 0.01 of toy's 10 items leaves the dev side empty"),
    (0.99, "--dev-fraction 0.99 of toy's 10 items leaves the train side empty"),
])
def test_bad_fractions_are_one_line_usage_errors(fraction, message):
    qa = build_collection(list(range(10)), [(True, True)] * 10)
    with pytest.raises(UsageError, match=message) as caught:
        split_items(qa, fraction)
    assert "\n" not in str(caught.value)


def test_bad_seeds_and_splitting_a_side_are_refused():
    qa = build_collection(list(range(10)), [(True, True)] * 10)
    for seed in (-1, 2**32, 1.5, True):
        with pytest.raises(UsageError, match="--dev-seed must be an integer"):
            split_items(qa, 0.5, seed=seed)
    with pytest.raises(UsageError, match="already the dev side of a split"):
        split_items(split_items(qa, 0.5).dev, 0.5)
    check_split_options(None, 0, optional=True)
    with pytest.raises(UsageError, match="--dev-fraction"):
        check_split_options(None, 0)


def test_one_paragraph_for_everything_cannot_be_split():
    qa = build_collection([0] * 10, [(True, True)] * 10)
    with pytest.raises(UsageError, match="every group of items sharing a paragraph has more than 5 items"):
        split_items(qa, 0.5)


def test_results_record_the_split_and_read_it_back():
    qa = build_collection(list(range(10)), [(True, True)] * 10)
    dev = split_items(qa, 0.3, seed=7).dev
    info = dataset_info(dev.limit(2), limit=2)
    assert info.split == dev.split
    assert info.title == "toy (dev split (3 of 10 items, fraction 0.3, seed 7), first 2 items)"
    assert DatasetInfo.from_dict(info.to_dict()) == info
    assert dataset_info(qa).to_dict()["split"] is None
    pairs = [Cell(x, y, {"map": 0.5}, 1) for x in LANGUAGES for y in LANGUAGES]
    multi = [Cell(x, "multi", {"map": 0.5}, 1, 2.0) for x in LANGUAGES]
    results = EvaluationResults.from_cells(model=ModelInfo("m"), dataset=info, pairs=pairs, multi=multi)
    assert EvaluationResults.from_json(results.to_json()).dataset.split == dev.split
    broken = results.to_json().replace('"side": "dev"', '"side": "test"')
    with pytest.raises(DataError, match="dataset.split.*side"):
        EvaluationResults.from_json(broken)
