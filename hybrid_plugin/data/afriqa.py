"""The AfriQA reader: questions in ten African languages, their human translations into English or French, and
the gold English / French Wikipedia passages that answer them.

The folder (``data/`` of masakhane-io/afriqa, see :mod:`hybrid_plugin.data.registry`) holds, per language
(AfriQA's codes: ``bem``, ``fon``, ``hau``, ``ibo``, ``kin``, ``swa``, ``twi``, ``wol``, ``yor``, ``zul``) and
split (``train``, ``dev``, ``test``), ``queries/<lang>/queries.afriqa.<lang>.<pivot>.<split>.json`` and
``gold_passages/<lang>/gold_span_passages.afriqa.<lang>.<pivot>.<split>.json`` (JSON lines; ``<pivot>`` is ``en``,
or ``fr`` for ``fon`` and ``wol``). Retrieval needs the gold passages, so the reader reads those: each line gives
the question (``question_lang``), its pivot translation (``question_translated``) and the passage (``context``).
The release has no gold passages for Wolof, none for Swahili in train and dev, none for Yoruba in dev.

How it maps into a :class:`~hybrid_plugin.data.collection.ParallelQA` (named ``afriqa``, ``afriqa-train``, ...):

* **item** = one AfriQA question with a gold passage: question id ``<lang>-<split>-<id>`` (``ha-test-12``; the
  plugin's codes, :mod:`hybrid_plugin.data.languages`);
* it exists in two **languages**: the question language ``X`` (``ha``, ``yo``, ``rw``, ...) with the question,
  and the pivot ``en`` / ``fr`` with its translation;
* the pivot's **candidate pool** holds the gold passages of every item read (distinct texts once, one paragraph
  each, docid ``<pivot>-<n>-0``, the passage text without its title); the **relevant candidate** of an item in
  its pivot is its gold passage. The question languages have **no pool** (AfriQA has no passages in them): they
  are query-only languages, with questions and no candidates or answers.

What this gives: ``X -> pivot`` is AfriQA's cross-lingual retrieval (an ``X`` question, the pool of gold
passages); ``pivot -> pivot`` (the translated question) is its monolingual reference; the multilingual pool is
the English and French passages together. Training rows come out right as they are (an item's rows pair both of
its questions with the pivot passage). Settings whose pool is a question language do not exist; the evaluation
and ``prepare`` still expect a pool in every language, so they need query-only languages to be skipped as pools.

Published lines without a passage (``context`` null or empty) or without question text (empty, null or NaN) are
left out (counted in the log). Lines that are not JSON objects, ids that are missing or repeated and fields of
another type raise :class:`~hybrid_plugin.errors.DataError` naming the file and line.

Example::

    qa = read_afriqa_folder("../shared/data/afriqa", ["ha", "yo", "en"])
    qa.questions["ha"]["ha-test-0"], qa.questions["en"]["ha-test-0"], qa.positive("ha-test-0", "en").text[:40]
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from hybrid_plugin.data.collection import Candidate, ParallelQA, check_name, read_json_lines
from hybrid_plugin.data.languages import check_chosen_languages, dataset_code, dataset_languages, find_language
from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.files import sha256_file

__all__ = ["AFRIQA_NAME", "AFRIQA_PIVOTS", "SPLITS", "AfriqaItem", "Split", "question_languages",
           "read_afriqa_folder"]

logger = logging.getLogger(__name__)

AFRIQA_NAME = "afriqa"
"""The set's name (and its key in the registry)."""

AFRIQA_PIVOTS: tuple[str, ...] = ("en", "fr")
"""The pivot languages: the translations and the passages are in these."""

Split = Literal["train", "dev", "test"]
SPLITS: tuple[str, ...] = get_args(Split)


def question_languages() -> tuple[str, ...]:
    """The plugin's codes of AfriQA's ten question languages.

    Example::

        >>> question_languages()
        ('bem', 'fon', 'ha', 'ig', 'rw', 'sw', 'tw', 'wo', 'yo', 'zu')
    """
    return tuple(lang for lang in dataset_languages(AFRIQA_NAME) if lang not in AFRIQA_PIVOTS)


@dataclass(frozen=True)
class AfriqaItem:
    """One line of a gold-passage file, as read: the question id (``ha-test-12``), the question language and
    its pivot (the plugin's codes), the question, its translation into the pivot and the gold passage."""

    qid: str
    language: str
    pivot: str
    question: str
    translation: str
    passage: str


def _text(record: dict[str, Any], key: str, path: Path, where: str) -> str | None:
    """A text field: the text, or None when the release left it out (null, NaN or blank)."""
    value = record.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if not isinstance(value, str):
        raise DataError(f'"{key}" must be text or null, got {type(value).__name__} {value!r:.40}', path, where)
    return value if value.strip() else None


def _read_gold_file(path: Path, language: str, pivot: str, split: str) -> tuple[list[AfriqaItem], int]:
    """The items of one gold-passage file, and how many lines were left out for lack of text."""
    items: list[AfriqaItem] = []
    seen: set[str] = set()
    skipped = 0
    for line_no, record in read_json_lines(path):
        where = f"line {line_no}"
        if not isinstance(record, dict):
            raise DataError("expected an object with id, question_lang, question_translated and context", path,
                            where)
        raw_id = record.get("id")
        if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)) or raw_id == "":
            raise DataError(f'"id" must be a non-empty string or integer, got {raw_id!r}', path, where)
        qid = check_name(f"{language}-{split}-{raw_id}", "qid", path=path, where=where)
        if qid in seen:
            raise DataError(f"id {raw_id} occurs twice", path, where)
        seen.add(qid)
        texts = [_text(record, key, path, where) for key in ("question_lang", "question_translated", "context")]
        if None in texts:
            skipped += 1
            continue
        items.append(AfriqaItem(qid, language, pivot, *texts))
    return items, skipped


def _gold_file(folder: Path, language: str, split: str) -> tuple[Path, str] | None:
    """The gold-passage file of a language and split, and its pivot (None when the release has none)."""
    own = dataset_code(language, AFRIQA_NAME)
    found = sorted((folder / "gold_passages" / own).glob(f"gold_span_passages.afriqa.{own}.*.{split}.json"))
    if not found:
        return None
    if len(found) > 1:
        raise DataError(f"several gold-passage files for {own} {split}: {', '.join(p.name for p in found)}",
                        folder)
    pivot = find_language(found[0].name.split(".")[3], AFRIQA_NAME)
    if pivot is None or pivot.code not in AFRIQA_PIVOTS:
        raise DataError(f"the pivot language of {found[0].name} is not one of {', '.join(AFRIQA_PIVOTS)}",
                        folder)
    return found[0], pivot.code


def _chosen(languages: Iterable[str] | None) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The languages kept (in order), the question languages whose items are read, and those asked for by name
    (each must give items)."""
    available = dataset_languages(AFRIQA_NAME)
    if languages is None:
        return (*question_languages(), *AFRIQA_PIVOTS), question_languages(), ()
    wanted = check_chosen_languages("afriqa", available, languages)
    asked = tuple(lang for lang in wanted if lang not in AFRIQA_PIVOTS)
    return wanted, asked or question_languages(), asked


def _check_splits(splits: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(splits)
    bad = [s for s in chosen if s not in SPLITS]
    if bad or not chosen or len(set(chosen)) != len(chosen):
        raise UsageError(f"splits must be distinct values of {', '.join(SPLITS)}, got {', '.join(chosen) or 'none'}")
    return chosen


def _read_items(folder: Path, chosen: tuple[tuple[str, ...], ...], splits: tuple[str, ...],
                sources: dict[str, str]) -> list[AfriqaItem]:
    """The items of the chosen question languages whose pivot is kept (each one asked for must give some)."""
    wanted, sources_of, named = chosen
    items: list[AfriqaItem] = []
    for language in sources_of:
        found = [(split, *f) for split in splits if (f := _gold_file(folder, language, split)) is not None]
        asked = language in named
        if not found and asked:
            raise UsageError(f"afriqa has no gold passages for {language} questions in split {', '.join(splits)}")
        unjudged = [pivot for _, _, pivot in found if pivot not in wanted]
        if unjudged and asked:
            raise UsageError(f"afriqa: {language} questions are judged against {unjudged[0]} passages; add "
                             f"{unjudged[0]} to the languages")
        if not found or unjudged:
            logger.info("afriqa: no %s items in %s", language, ", ".join(splits))
            continue
        for split, path, pivot in found:
            read, skipped = _read_gold_file(path, language, pivot, split)
            sources[path.relative_to(folder).as_posix()] = sha256_file(path)
            if skipped:
                logger.info("%s: %d of %d lines have no passage or question text; left out", path.name, skipped,
                            skipped + len(read))
            items.extend(read)
    return items


def read_afriqa_folder(folder: str | Path, languages: Iterable[str] | None = None, *,
                       splits: Iterable[Split] = ("test",), name: str = AFRIQA_NAME) -> ParallelQA:
    """Read AfriQA's gold passages as a collection (the mapping is in the module docstring).

    Args:
        folder: the set's folder (``gold_passages/``, ``queries/``).
        languages: the plugin's codes to keep, in this order: question languages and the pivots they need
            (``["ha", "en"]``). Items are read for the question languages asked for -- or, when only pivots are
            asked for, for every question language judged in them. Default: all languages that have gold
            passages in the splits, question languages first.
        splits: the splits to read (default: the test split).
        name: the collection's name.

    Returns:
        ParallelQA: question languages (query-only) and pivots, in the order described.

    Raises:
        UsageError: an unknown language or split, a question language without its pivot or without gold passages.
        DataError: a malformed file.

    Example::

        qa = read_afriqa_folder("../shared/data/afriqa", ["yo", "en"], splits=["train"])
        qa.languages, len(qa.qids), len(qa.candidates["yo"])      # (('yo', 'en'), 247, 0)
    """
    folder = Path(folder)
    if not folder.is_dir() or not (folder / "gold_passages").is_dir():
        raise DataError("no gold_passages/ folder (is this AfriQA's data folder?)", folder)
    name = check_name(name, "dataset")
    chosen = _chosen(languages)
    wanted = chosen[0]
    sources: dict[str, str] = {}
    items = _read_items(folder, chosen, _check_splits(splits), sources)
    judged_in = {item.pivot for item in items}
    lonely = [p for p in AFRIQA_PIVOTS if p in wanted and languages is not None and p not in judged_in]
    if lonely:
        raise UsageError(f"afriqa: none of the chosen question languages is judged against {lonely[0]} passages")
    return _collection(name, wanted, items, sources)


def _collection(name: str, wanted: tuple[str, ...], items: list[AfriqaItem], sources: dict[str, str]) -> ParallelQA:
    """The collection of the items: questions in their language and pivot, the pivots' passage pools."""
    present = {item.language for item in items} | {item.pivot for item in items}
    languages = tuple(lang for lang in wanted if lang in present)
    questions: dict[str, dict[str, str]] = {lang: {} for lang in languages}
    candidates: dict[str, list[Candidate]] = {lang: [] for lang in languages}
    relevant: dict[str, dict[str, str]] = {lang: {} for lang in languages}
    docid_of: dict[tuple[str, str], str] = {}
    for item in items:
        if item.language in questions:
            questions[item.language][item.qid] = item.question
        questions[item.pivot][item.qid] = item.translation
        key = (item.pivot, item.passage)
        if key not in docid_of:
            pool = candidates[item.pivot]
            docid_of[key] = f"{item.pivot}-{len(pool)}-0"
            pool.append(Candidate(docid_of[key], item.passage, item.pivot, len(pool), 0))
        relevant[item.pivot][item.qid] = docid_of[key]
    qa = ParallelQA(name, languages, questions, candidates, relevant, sources)
    qa.check_linked()
    return qa
