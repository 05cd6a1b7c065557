"""Adaptation (b): continued hybrid training with target-domain parallel text added as X-Y pairs.

A model trained with hybrid batches on Wikipedia QA (MLQA-R, say) meets another domain -- news, conversational
sentences, African-language questions. Its training continues on the **union** of its own training collection
(the *source*: X-X and X-Y question -> answer pairs, so the QA skill is kept) and **parallel text of the target
domain** (the *target*: each item a sentence and its translations, read as a collection whose every translation
is a candidate), batched by the same :class:`~hybrid_plugin.sampling.HybridBatchSampler`. A target item gives one
pair per ordered language pair (X -> Y and Y -> X); its own-language pair -- a sentence and itself -- is left out
by :func:`~hybrid_plugin.training.build_training_dataset`, so the X-X batches come from the source and the target
adds X-Y pairs, in its own languages too (languages the source lacks get X-Y kinds of their own).

**No evaluation item is ever trained on**: the caller passes the *adaptation side* of a split by item
(:func:`~hybrid_plugin.data.split_items`, by item and document), and :func:`without_texts_of` drops every
adaptation item that shares a text with the evaluation side (a headline repeated in two documents would
otherwise leak). ``training.json`` records the target's name, checksum, items, languages and item digest under
``"adaptation"``.

Example::

    from hybrid_plugin.adaptation.parallel import adapt_on_parallel_text
    from hybrid_plugin.data import load_parallel_qa, split_items
    from hybrid_plugin.training import TrainingSettings

    news = load_parallel_qa("ntrex-128", data="../shared/data/ntrex-128", languages=["en", "de", "sw", "yo"])
    split = split_items(news, 0.5, seed=0)                      # adapt on .train, evaluate on .dev
    settings = TrainingSettings(train="mlqa-r", data="../shared/data/mlqa-r", model="runs/hybrid",
                                out="runs/hybrid-news", max_steps=20, batch_size=16)
    adapt_on_parallel_text(settings, without_texts_of(split.train, split.dev))
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

from hybrid_plugin.data.collection import Candidate, ParallelQA
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.data.splits import split_items
from hybrid_plugin.errors import UsageError
from hybrid_plugin.training.run_folder import REPORT_FILE, write_json
from hybrid_plugin.training.settings import TrainingSettings
from hybrid_plugin.training.trainer import TrainingResult, train

__all__ = ["TARGET_PREFIX", "adapt_on_parallel_text", "collection_texts", "items_digest", "merge_collections",
           "without_texts_of"]

TARGET_PREFIX = "target:"
"""What the target's question and candidate ids start with in the merged collection (source ids never do)."""


def items_digest(qa: ParallelQA) -> str:
    """SHA-256 over the sorted item ids of ``qa`` (names the items an adaptation saw)."""
    return hashlib.sha256("\n".join(sorted(qa.qids)).encode()).hexdigest()


def collection_texts(qa: ParallelQA) -> set[str]:
    """Every question and candidate text of ``qa``."""
    texts = {text for pool in qa.questions.values() for text in pool.values()}
    texts.update(c.text for pool in qa.candidates.values() for c in pool)
    return texts


def without_texts_of(adapt: ParallelQA, held_out: ParallelQA) -> ParallelQA:
    """``adapt`` without the items that share any question or answer text with ``held_out``.

    Raises:
        UsageError: the two share an item id (they are not two sides of one split), or nothing is left.
    """
    shared_ids = set(adapt.qids) & set(held_out.qids)
    if shared_ids:
        raise UsageError(f"{adapt.name}: {len(shared_ids)} items (e.g. {sorted(shared_ids)[0]}) are also held out; "
                         "adapt on the other side of a split by item")
    banned = collection_texts(held_out)
    keep = [qid for qid in adapt.qids
            if not any(text in banned for text in _item_texts(adapt, qid))]
    if not keep:
        raise UsageError(f"{adapt.name}: every item shares a text with the held-out side")
    return adapt if len(keep) == len(adapt.qids) else adapt.subset(keep)


def _item_texts(qa: ParallelQA, qid: str) -> list[str]:
    texts = []
    for lang in qa.item_languages(qid):
        texts.append(qa.questions[lang][qid])
        positive = qa.positive(qid, lang)
        if positive is not None:
            texts.append(positive.text)
    return texts


def merge_collections(source: ParallelQA, target: ParallelQA) -> ParallelQA:
    """One collection of ``source``'s items and ``target``'s, kept apart.

    Target ids get :data:`TARGET_PREFIX`, target paragraphs are numbered after the source's in each language (a
    hard negative stays within its own collection's paragraph), and the languages are the source's followed by
    the target's others.

    Raises:
        UsageError: a source id already starts with :data:`TARGET_PREFIX`.
    """
    clash = next((qid for qid in source.qids if qid.startswith(TARGET_PREFIX)), None)
    if clash is not None:
        raise UsageError(f"{source.name}: question id {clash!r} starts with {TARGET_PREFIX!r}, reserved for the target")
    languages = (*source.languages, *(lang for lang in target.languages if lang not in source.languages))
    questions: dict[str, dict[str, str]] = {lang: dict(source.questions.get(lang, {})) for lang in languages}
    relevant: dict[str, dict[str, str]] = {lang: dict(source.relevant.get(lang, {})) for lang in languages}
    candidates: dict[str, list[Candidate]] = {lang: list(source.candidates.get(lang, [])) for lang in languages}
    for lang in target.languages:
        offset = 1 + max((c.paragraph for c in candidates[lang]), default=-1)
        questions[lang].update({TARGET_PREFIX + qid: text for qid, text in target.questions[lang].items()})
        relevant[lang].update({TARGET_PREFIX + qid: TARGET_PREFIX + docid
                               for qid, docid in target.relevant[lang].items()})
        candidates[lang].extend(dataclasses.replace(c, docid=TARGET_PREFIX + c.docid, paragraph=offset + c.paragraph)
                                for c in target.candidates[lang])
    sources = {f"{source.name}/{name}": sha for name, sha in source.sources.items()}
    sources.update({f"{target.name}/{name}": sha for name, sha in target.sources.items()})
    return ParallelQA(name=f"{source.name}_{target.name}"[:64], languages=languages, questions=questions,
                      candidates=candidates, relevant=relevant, sources=sources)


def _source(settings: TrainingSettings) -> ParallelQA:
    """The source collection cut as ``settings`` say (languages, the train side of a dev split, the limit)."""
    qa = load_parallel_qa(settings.train, data=settings.data, languages=settings.languages)
    if settings.dev_fraction is not None:
        qa = split_items(qa, settings.dev_fraction, seed=settings.dev_seed).train
    return qa.limit(settings.limit)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _target_record(target: ParallelQA, merged: ParallelQA, source: ParallelQA) -> dict[str, Any]:
    return {"method": "parallel", "target": target.name, "target_checksum": target.checksum,
            "target_items": len(target.qids), "target_items_digest": items_digest(target),
            "target_languages": list(target.languages),
            "target_split": None if target.split is None else target.split.to_dict(),
            "source": source.name, "source_items": len(source.qids), "merged_languages": list(merged.languages)}


def adapt_on_parallel_text(settings: TrainingSettings, target: ParallelQA, *,
                           source: ParallelQA | None = None) -> TrainingResult:
    """Continue training ``settings.model`` on its source collection plus ``target``'s translation pairs.

    Args:
        settings (TrainingSettings): the run; ``train`` / ``data`` / ``languages`` / ``dev_fraction`` / ``limit``
            name and cut the **source** (the model's own training collection), ``model`` the model to adapt.
        target (ParallelQA): target-domain parallel text -- the adaptation side of a split by item, never the
            evaluated items (see :func:`without_texts_of`).
        source (ParallelQA, optional): the source, already loaded and cut (else read as ``settings`` say).

    Returns:
        TrainingResult: as :func:`~hybrid_plugin.training.train`; ``training.json`` also has ``"adaptation"``.

    Raises:
        UsageError, DataError: as :func:`~hybrid_plugin.training.train`, and a target with fewer than two
            languages (it would give no pair); all before the output folder is changed.
    """
    if len(target.languages) < 2:
        raise UsageError(f"{target.name}: parallel text needs two languages, it has "
                         f"{', '.join(target.languages) or 'none'}")
    source = _source(settings) if source is None else source
    merged = merge_collections(source, target)
    run = dataclasses.replace(settings, languages=None, dev_fraction=None, limit=None)
    result = train(run, qa=merged)
    result.report["adaptation"] = _target_record(target, merged, source)
    result.report["adaptation"]["source_cuts"] = {name: _plain(getattr(settings, name))
                                                   for name in ("languages", "dev_fraction", "dev_seed", "limit")}
    write_json(Path(settings.out) / REPORT_FILE, result.report)
    return result
