"""The training rows of a parallel collection: one row per item and language pair, hard negatives, hidden
metadata."""

from __future__ import annotations

import numpy as np

from hybrid_plugin.sampling import METADATA_COLUMNS, PairMetadata
from hybrid_plugin.training import build_training_dataset


def test_training_set_has_one_row_per_item_and_language_pair(xquad):
    qa = xquad.limit(30)
    rows = build_training_dataset(qa)
    assert len(rows) == 30 * 11 * 11
    assert set(rows[0]) == {"anchor", "positive"}
    assert set(METADATA_COLUMNS[:4]) <= set(rows.column_names)
    meta = PairMetadata.from_dataset(rows)
    assert meta.languages == qa.languages
    for i in np.random.default_rng(0).choice(len(rows), 50, replace=False).tolist():
        qid = qa.qids[meta.item[i]]
        q, p = qa.languages[meta.query_language[i]], qa.languages[meta.passage_language[i]]
        assert rows[i]["anchor"] == qa.questions[q][qid]
        assert rows[i]["positive"] == qa.positive(qid, p).text
    # equal passage texts have equal ids
    texts = {}
    for i in range(0, len(rows), 7):
        texts.setdefault(rows[i]["positive"], set()).add(int(meta.texts[i, 0]))
    assert all(len(ids) == 1 for ids in texts.values())


def test_hard_negatives_are_other_sentences_of_the_paragraph(xquad):
    qa = xquad.limit(20)
    rows = build_training_dataset(qa, hard_negatives=True, seed=1)
    assert set(rows[0]) == {"anchor", "positive", "negative"}
    meta = PairMetadata.from_dataset(rows)
    same_paragraph = 0
    for i in range(0, len(rows), 11):
        qid, p = qa.qids[meta.item[i]], qa.languages[meta.passage_language[i]]
        positive = qa.positive(qid, p)
        assert rows[i]["negative"] != rows[i]["positive"]
        same_paragraph += rows[i]["negative"] in {c.text for c in qa.paragraph_of(positive)}
    assert same_paragraph >= 0.8 * len(range(0, len(rows), 11))
    assert build_training_dataset(qa, hard_negatives=True, seed=1)["negative"] == rows["negative"]
