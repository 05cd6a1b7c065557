"""Attacked questions as a collection and as Pyserini topic files (``hybrid-plugin attack``), so the stock
commands search any attacked cell.

:func:`attack_collection` runs :func:`~hybrid_plugin.perturb.attack.attack_queries` for every query language of
a collection (each against its own pool, or every one against one ``pool`` language) and returns the attacked
collection -- the same items, pools and qrels, the attacked questions in place of the originals -- with one
:class:`AttackSummary`. :func:`write_attacked_topics` writes::

    OUT/topics/D.L.tsv      qid<TAB>attacked question, the names ``prepare`` and ``perturb`` write
    OUT/attack.json         the settings, per language and overall: success rate, mean rank drop, model queries
                            used and their bound, every query's edits; the SHA-256 of every topic file
    OUT/.hybrid-plugin.json the marker: the plugin made this folder

The attack is black-box against one model: the attacked questions are that model's adversarial queries (another
model searched with them measures transfer). The collection's ``sources`` gain a ``perturbation`` entry (the
attack's settings and the model), so its checksum differs from the clean one while the embedding cache still
reuses the clean passages (:func:`~hybrid_plugin.perturb.collection.cache_checksum`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.errors import UsageError
from hybrid_plugin.files import check_output
from hybrid_plugin.models.loading import load_model, resolve_model
from hybrid_plugin.perturb.attack import AttackReport, AttackSettings, attack_queries
from hybrid_plugin.perturb.collection import PERTURBATION_SOURCE
from hybrid_plugin.perturb.topics import write_question_topics

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["ATTACK_FILE", "AttackSummary", "AttackedTopics", "attack_collection", "write_attacked_topics"]

ATTACK_FILE = "attack.json"


@dataclass(frozen=True)
class AttackSummary:
    """The attack on every query language of a collection: one :class:`AttackReport` per language."""

    settings: AttackSettings
    model: str
    reports: tuple[AttackReport, ...]

    def _outcomes(self) -> list[Any]:
        return [o for r in self.reports for o in r.outcomes]

    @property
    def success_rate(self) -> float | None:
        """Of the attacked queries ranked first before, the share not ranked first after (None if none was)."""
        first = [o for o in self._outcomes() if o.rank_before == 1]
        return sum(o.rank_after > 1 for o in first) / len(first) if first else None

    @property
    def mean_rank_drop(self) -> float | None:
        """Mean of rank after minus rank before over every attacked query (positive: pushed down)."""
        outcomes = self._outcomes()
        return float(np.mean([o.rank_after - o.rank_before for o in outcomes])) if outcomes else None

    @property
    def model_queries(self) -> int:
        """Query embeddings asked for in all (each query's at most ``settings.max_model_queries``)."""
        return sum(o.model_queries for o in self._outcomes())

    def record(self) -> dict[str, Any]:
        """The short JSON form (no per-query outcomes): what results and summaries hold."""
        outcomes = self._outcomes()
        return {"attack": self.settings.record(), "model": self.model, "queries": len(outcomes),
                "success_rate": self.success_rate, "mean_rank_drop": self.mean_rank_drop,
                "model_queries": self.model_queries,
                "model_queries_bound": len(outcomes) * self.settings.max_model_queries,
                "languages": {r.query_language: {k: v for k, v in r.to_dict().items() if k != "outcomes"}
                              for r in self.reports}}

    def to_dict(self) -> dict[str, Any]:
        """The full JSON form (``attack.json``): :meth:`record` and every query's outcome."""
        return {**self.record(), "outcomes": {r.query_language: [o.to_dict() for o in r.outcomes]
                                              for r in self.reports}}


@dataclass(frozen=True)
class AttackedTopics:
    """What :func:`write_attacked_topics` wrote: the folder, the topic file of each language, the summary."""

    root: Path
    topics: dict[str, Path]
    summary: AttackSummary


def attack_collection(qa: ParallelQA, model: str | os.PathLike[str] | SentenceTransformer, settings: AttackSettings,
                      *, model_name: str, pool: str | None = None, qids: list[str] | None = None,
                      batch_size: int = 32) -> tuple[ParallelQA, AttackSummary]:
    """Attack the questions of every language of ``qa`` and return the attacked collection.

    Args:
        qa: the collection (limited / restricted to languages already).
        model: a loaded SentenceTransformer or a model folder (loaded once here).
        settings: budget, unit, candidates, seed.
        model_name: the name recorded.
        pool: attack every language against this language's pool (default: each against its own).
        qids: the items attacked (default: all); the other questions stay as they are.
        batch_size: encoding batch size.

    Returns:
        (ParallelQA, AttackSummary): the collection with the attacked questions, and what the attack did.

    Raises:
        UsageError: ``pool`` or an item of ``qids`` the collection does not have.

    Example::

        attacked, summary = attack_collection(qa.limit(5), "model", AttackSettings(budget=1), model_name="m")
        summary.success_rate, summary.model_queries
    """
    if pool is not None and pool not in qa.languages:
        raise UsageError(f"--pool {pool!r} is not a language of {qa.name} ({', '.join(qa.languages)})")
    unknown = sorted(set(qids or ()).difference(qa.qids))
    if unknown:
        raise UsageError(f"{qa.name} has no item {unknown[0]!r}")
    if isinstance(model, (str, os.PathLike)):
        model = load_model(resolve_model(os.fspath(model)))
    keep = None if qids is None else set(qids)
    reports, questions = [], {}
    for lang in qa.languages:
        target = pool or lang
        wanted = [q for q in qa.questions[lang] if q in qa.relevant[target] and (keep is None or q in keep)]
        report = attack_queries(qa, model, settings, query_language=lang, pool_language=target, qids=wanted,
                                batch_size=batch_size)
        reports.append(report)
        attacked = {o.qid: o.attacked for o in report.outcomes}
        questions[lang] = {q: attacked.get(q, text) for q, text in qa.questions[lang].items()}
    summary = AttackSummary(settings, model_name, tuple(reports))
    entry = {**settings.record(), "model": model_name, "pool": pool, "qids": None if qids is None else sorted(qids)}
    digest = hashlib.sha256(json.dumps(entry, sort_keys=True).encode()).hexdigest()
    attacked_qa = ParallelQA(qa.name, qa.languages, questions, qa.candidates, qa.relevant,
                             {**qa.sources, PERTURBATION_SOURCE: digest}, qa.split)
    return attacked_qa, summary


def write_attacked_topics(qa: ParallelQA, model: str | os.PathLike[str] | SentenceTransformer,
                          settings: AttackSettings, out: str | Path, *, model_name: str, pool: str | None = None,
                          batch_size: int = 32, overwrite: bool = False) -> AttackedTopics:
    """Attack every question of ``qa`` and write the topic files and ``attack.json`` under ``out``.

    Args:
        qa, model, settings, model_name, pool, batch_size: as :func:`attack_collection`.
        out: the output folder (new, empty, or written by this command earlier with ``overwrite``).
        overwrite: replace an earlier output in ``out``.

    Returns:
        AttackedTopics: the files and the summary.

    Raises:
        UsageError: ``out`` may not be written (checked before the attack), an unknown ``pool``.

    Example::

        written = write_attacked_topics(qa.limit(5), "model", AttackSettings(budget=2), "attacked", model_name="m")
        written.topics["de"]   # attacked/topics/xquad-r.de.tsv
    """
    out = Path(out)
    check_output(out, overwrite=overwrite)
    attacked, summary = attack_collection(qa, model, settings, model_name=model_name, pool=pool,
                                          batch_size=batch_size)
    topics = write_question_topics(qa, attacked, out, command="attack", record_file=ATTACK_FILE,
                                   record={"pool": pool or "same", **summary.to_dict()}, overwrite=overwrite)
    return AttackedTopics(out, topics, summary)
