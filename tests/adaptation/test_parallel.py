"""Adaptation (b): continued hybrid training with target-domain parallel text (NTREX-128) as X-Y pairs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid_plugin.adaptation.parallel import (
    TARGET_PREFIX,
    adapt_on_parallel_text,
    collection_texts,
    items_digest,
    merge_collections,
    without_texts_of,
)
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.data.splits import split_items
from hybrid_plugin.errors import UsageError
from hybrid_plugin.training import TrainingSettings, build_training_dataset

NEWS_LANGUAGES = ["en", "de", "es"]


@pytest.fixture(scope="module")
def news(shared_data):
    return load_parallel_qa("ntrex-128", data=shared_data / "ntrex-128", languages=NEWS_LANGUAGES).limit(60)


@pytest.fixture(scope="module")
def news_split(news):
    split = split_items(news, 0.5, seed=0)
    return split.train, split.dev


def test_parallel_text_gives_translation_pairs_only(news):
    rows = build_training_dataset(news.limit(10))
    pairs = [(r["anchor"], r["positive"]) for r in rows]
    assert pairs and all(a != p for a, p in pairs)  # a sentence is never paired with itself
    english = set(news.questions["en"].values())
    # each item: every ordered pair of its languages whose two texts differ
    expected = sum(1 for qid in news.limit(10).qids for q in NEWS_LANGUAGES for p in NEWS_LANGUAGES
                   if news.questions[q][qid] != news.positive(qid, p).text)
    assert len(pairs) == expected
    assert any(a in english for a, _ in pairs) and any(p in english for _, p in pairs)


def test_merge_keeps_both_collections_apart(mlqa, news_split):
    source = mlqa.select_languages(["en", "de", "ar"]).limit(30)
    adapt, _ = news_split
    merged = merge_collections(source, adapt)
    assert merged.languages == ("en", "de", "ar", "es")
    assert len(merged.qids) == len(source.qids) + len(adapt.qids)
    for lang in adapt.languages:
        for qid in adapt.questions[lang]:
            cand = merged.positive(TARGET_PREFIX + qid, lang)
            assert cand.text == adapt.positive(qid, lang).text
        source_paragraphs = {c.paragraph for c in source.candidates.get(lang, [])}
        target_paragraphs = {c.paragraph for c in merged.candidates[lang] if c.docid.startswith(TARGET_PREFIX)}
        assert not source_paragraphs & target_paragraphs
    assert merged.positive(source.qids[0], "de") == source.positive(source.qids[0], "de")
    # X-X pairs come from the source only; the target adds X-Y pairs
    rows = build_training_dataset(merged).with_format(None)
    target_rows = [r for r in rows if r["anchor"] in collection_texts(adapt)]
    assert target_rows and all(r["anchor"] != r["positive"] for r in target_rows)


def test_the_adaptation_side_never_holds_an_evaluated_item_or_text(news_split):
    adapt, held_out = news_split
    clean = without_texts_of(adapt, held_out)
    assert not set(clean.qids) & set(held_out.qids)
    assert not collection_texts(clean) & collection_texts(held_out)
    with pytest.raises(UsageError, match="also held out"):
        without_texts_of(held_out, held_out)


def _texts_of_item(qa, qid):
    return {text for lang in qa.item_languages(qid)
            for text in (qa.questions[lang][qid], qa.positive(qid, lang).text)}


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 59), min_size=1, max_size=59, unique=True))
def test_a_shared_text_removes_the_adaptation_item(news, chosen):
    # held-out items are the chosen ones (with their whole documents, as subset keeps them); an adaptation item
    # sharing any text with them must go, and no other
    held = news.subset([news.qids[i] for i in chosen])
    rest = news.subset([q for q in news.qids if q not in set(held.qids)])
    banned = collection_texts(held)
    expected = [q for q in rest.qids if not _texts_of_item(rest, q) & banned]
    if not expected:
        with pytest.raises(UsageError, match="every item shares a text"):
            without_texts_of(rest, held)
        return
    clean = without_texts_of(rest, held)
    assert list(clean.qids) == expected
    assert not {t for q in clean.qids for t in _texts_of_item(clean, q)} & banned


@pytest.mark.slow
def test_continued_training_on_news_pairs(tiny_xquad_model, mlqa, news_split, tmp_path):
    adapt, held_out = news_split
    adapt = without_texts_of(adapt, held_out)
    settings_ = TrainingSettings(train="mlqa-r", out=tmp_path / "adapted", model=str(tiny_xquad_model),
                                 max_steps=6, batch_size=8, lr=1e-3, warmup_ratio=0.0, logging_steps=1,
                                 device="cpu", languages=["en", "de", "es"], limit=40)
    source = mlqa.select_languages(["en", "de", "es"]).limit(40)
    result = adapt_on_parallel_text(settings_, adapt, source=source)
    report = json.loads((tmp_path / "adapted" / "training.json").read_text())
    assert report["global_step"] == 6
    record = report["adaptation"]
    assert record["target_items"] == len(adapt.qids)
    assert record["target_items_digest"] == items_digest(adapt) != items_digest(held_out)
    assert record["target_split"]["side"] == "train"
    assert record["source_cuts"]["limit"] == 40
    assert report["data"]["items"] == len(source.qids) + len(adapt.qids)
    assert result.report["adaptation"] == record
    from sentence_transformers import SentenceTransformer

    before = SentenceTransformer(str(tiny_xquad_model), device="cpu").encode(["the cat sat"])
    after = SentenceTransformer(str(tmp_path / "adapted"), device="cpu").encode(["the cat sat"])
    assert not np.allclose(before, after)


def test_a_one_language_target_is_refused_before_anything_is_written(tiny_xquad_model, news, tmp_path):
    settings_ = TrainingSettings(train="mlqa-r", out=tmp_path / "adapted", model=str(tiny_xquad_model),
                                 max_steps=2, device="cpu")
    with pytest.raises(UsageError, match="needs two languages"):
        adapt_on_parallel_text(settings_, news.select_languages(["en"]))
    assert not (tmp_path / "adapted").exists()
