"""The training rows of a parallel collection, ready for :class:`~hybrid_plugin.sampling.HybridBatchSampler`.

One row per (item, query language, passage language) that exists -- XQuAD-R gives 1,190 x 11 x 11 = 143,990 rows
-- with the text columns the loss sees and the hidden integer metadata the sampler reads
(:mod:`hybrid_plugin.sampling.metadata`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from hybrid_plugin.data.collection import Candidate, ParallelQA
from hybrid_plugin.errors import UsageError
from hybrid_plugin.sampling.metadata import (
    ITEM_COLUMN,
    PASSAGE_LANGUAGE_COLUMN,
    QUERY_LANGUAGE_COLUMN,
    TEXT_ID_COLUMNS,
    hide_metadata_columns,
)

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = ["build_training_dataset"]

logger = logging.getLogger(__name__)

_TEXT_COLUMNS = ("anchor", "positive", "negative")


def build_training_dataset(qa: ParallelQA, *, hard_negatives: bool = False, seed: int = 0) -> Dataset:
    """The training rows of a parallel collection, ready for :class:`~hybrid_plugin.sampling.HybridBatchSampler`.

    One row per item and (query language, passage language) in which the item exists, X-X and X-Y alike (the
    sampler chooses between them). Visible columns -- what the loss sees -- are ``anchor`` (the question),
    ``positive`` (its answer sentence) and, with ``hard_negatives``, ``negative``: another sentence of the same
    paragraph in the passage's language (a different text; a random sentence of another paragraph when the
    paragraph has no other). Hidden metadata columns (:data:`~hybrid_plugin.sampling.METADATA_COLUMNS`): item
    index, query and passage language (``ClassLabel`` over ``qa.languages``) and integer ids of the passage texts.
    A pair whose question *is* its passage (parallel text such as NTREX-128 read as a collection, where an item's
    own-language candidate is the sentence itself) is left out: it teaches nothing, and the X-Y pairs remain.

    Args:
        qa (ParallelQA): the collection (use ``qa.limit(n)`` / ``qa.select_languages(...)`` to cut it).
        hard_negatives (bool): add the ``negative`` column. Defaults to False.
        seed (int): seed of the choice of hard negatives. Defaults to 0.

    Returns:
        datasets.Dataset: the rows, formatted to show only the text columns.

    Example::

        rows = build_training_dataset(qa.limit(20), hard_negatives=True)
        rows[0]          # {'anchor': ..., 'positive': ..., 'negative': ...}: the texts only
    """
    from datasets import ClassLabel, Dataset, Features, Value  # heavy: only needed here

    columns = _RowBuilder(qa, hard_negatives, seed).columns()
    languages = list(qa.languages)
    features = {
        "anchor": Value("string"),
        "positive": Value("string"),
        "negative": Value("string"),
        ITEM_COLUMN: Value("int32"),
        QUERY_LANGUAGE_COLUMN: ClassLabel(names=languages),
        PASSAGE_LANGUAGE_COLUMN: ClassLabel(names=languages),
        TEXT_ID_COLUMNS[0]: Value("int64"),
        TEXT_ID_COLUMNS[1]: Value("int64"),
    }
    if not hard_negatives:
        for name in ("negative", TEXT_ID_COLUMNS[1]):
            del columns[name], features[name]
    dataset = Dataset.from_dict(columns, features=Features(features))
    return hide_metadata_columns(dataset)


class _RowBuilder:
    """The columns of :func:`build_training_dataset`, item by item (equal passage texts get equal ids)."""

    def __init__(self, qa: ParallelQA, hard_negatives: bool, seed: int) -> None:
        self.qa, self.hard_negatives = qa, hard_negatives
        self.rng = np.random.default_rng(seed)
        self.lang_index = {lang: i for i, lang in enumerate(qa.languages)}
        self.text_ids: dict[str, int] = {}
        self.paragraphs = {lang: _paragraphs(qa, lang) for lang in qa.languages} if hard_negatives else {}
        self.fallbacks = self.same_text = 0
        self.data: dict[str, list[Any]] = {name: [] for name in (
            *_TEXT_COLUMNS, ITEM_COLUMN, QUERY_LANGUAGE_COLUMN, PASSAGE_LANGUAGE_COLUMN, *TEXT_ID_COLUMNS)}

    def columns(self) -> dict[str, list[Any]]:
        qa = self.qa
        for item, qid in enumerate(qa.qids):
            item_langs = qa.item_languages(qid)
            for p in item_langs:
                positive = qa.positive(qid, p)
                if positive is None:  # an item with a question but no answer in p (not produced by our readers)
                    continue
                negative_text, neg_id = self._negative(positive, p)
                for q in item_langs:
                    if qa.questions[q][qid] == positive.text:  # parallel text: a sentence and itself
                        self.same_text += 1
                        continue
                    self._add(qa.questions[q][qid], positive.text, negative_text, item, q, p, neg_id)
        if self.same_text:
            logger.info("%d pairs of a text with itself left out (parallel text's own-language pairs)", self.same_text)
        if not self.data["anchor"]:
            raise UsageError(f"{qa.name} gives no training pairs")
        if self.fallbacks:
            logger.info("%d of %d passages have no other sentence in their paragraph: their negative is a sentence "
                        "of another paragraph", self.fallbacks, len(set(self.data[TEXT_ID_COLUMNS[0]])))
        return self.data

    def _text_id(self, text: str) -> int:
        return self.text_ids.setdefault(text, len(self.text_ids))

    def _negative(self, positive: Candidate, language: str) -> tuple[str, int]:
        """The hard negative's text and id for a positive passage (``("", -1)`` without hard negatives)."""
        self._text_id(positive.text)  # the positive's id comes first, as rows list it
        if not self.hard_negatives:
            return "", -1
        negative, fell_back = _hard_negative(self.qa, positive, self.paragraphs[language], self.rng)
        self.fallbacks += fell_back
        return negative.text, self._text_id(negative.text)

    def _add(self, question: str, positive: str, negative: str, item: int, q: str, p: str, neg_id: int) -> None:
        row = (question, positive, negative, item, self.lang_index[q], self.lang_index[p], self.text_ids[positive],
               neg_id)
        for name, value in zip(self.data, row):
            self.data[name].append(value)


def _paragraphs(qa: ParallelQA, language: str) -> dict[int, list[Candidate]]:
    groups: dict[int, list[Candidate]] = {}
    for cand in qa.candidates[language]:
        groups.setdefault(cand.paragraph, []).append(cand)
    return groups


def _hard_negative(
    qa: ParallelQA, positive: Candidate, paragraphs: dict[int, list[Candidate]], rng: np.random.Generator
) -> tuple[Candidate, bool]:
    """Another sentence of the positive's paragraph (a different text), else one of another paragraph."""
    others = [c for c in paragraphs[positive.paragraph] if c.text != positive.text]
    if others:
        return others[int(rng.integers(len(others)))], False
    pool = qa.candidates[positive.language]
    for _ in range(100):
        cand = pool[int(rng.integers(len(pool)))]
        if cand.paragraph != positive.paragraph and cand.text != positive.text:
            return cand, True
    raise UsageError(f"{qa.name}: language {positive.language} has no sentence to serve as a negative for "
                     f"{positive.docid}; train without hard negatives")
