"""A black-box adversarial attack: with a budget of ``k`` character or word edits per query, a greedy search picks
the edits that push the relevant candidate furthest down the model's ranking.

The search (one query of language X against the pool of language Y): at each of at most ``budget`` steps, draw
``candidates`` distinct one-edit variants of the current text (characters: delete, substitute -- by a keyboard
neighbour where :mod:`~hybrid_plugin.perturb.keyboards` has a layout, else by a letter of the language -- or
insert a letter; words: delete, replace or insert a word of the language's questions), encode them in one batch,
and keep the one that ranks the relevant candidate lowest (ties: the lowest score of the relevant candidate). The
search stops early when no variant lowers the relevant candidate. Each edit is one Levenshtein operation over
characters (or words), so the attacked text is within ``budget`` edits of the original; a variant that is empty
or equals any question of the collection, in any language, is never taken.

The model is black-box: only query embeddings are asked for, counted, and bounded by
``1 + budget × candidates`` per query (the original, then one batch per step); the pool is encoded once.

Reported: the **attack success rate** (of the queries whose relevant candidate was ranked first, the share for
which it no longer is) and the **mean rank drop** (rank after minus rank before, over all attacked queries).
"""

from __future__ import annotations

import logging
import os
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.encoding import encode_texts
from hybrid_plugin.models.loading import load_model, model_prompts, resolve_model
from hybrid_plugin.perturb.keyboards import neighbour_key, neighbours
from hybrid_plugin.perturb.segments import UNSEGMENTED_SCRIPTS, alphabet, split_units, text_script

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["AttackOutcome", "AttackReport", "AttackSettings", "attack_queries"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttackSettings:
    """The attack's settings, checked when made.

    Args:
        budget (int, default 2): edits per query (1 to 20).
        unit (str, default "char"): ``"char"`` or ``"word"`` edits.
        candidates (int, default 16): variants tried per step (1 to 256).
        seed (int, default 0): the seed of the variants drawn.

    Example::

        AttackSettings(budget=3, unit="word").max_model_queries   # 49
    """

    budget: int = 2
    unit: Literal["char", "word"] = "char"
    candidates: int = 16
    seed: int = 0

    def __post_init__(self) -> None:
        for name, value, top in (("budget", self.budget, 20), ("candidates", self.candidates, 256)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
                raise UsageError(f"attack {name} must be an integer from 1 to {top} but got {value!r}")
        if self.unit not in ("char", "word"):
            raise UsageError(f"attack unit must be 'char' or 'word' but got {self.unit!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise UsageError(f"attack seed must be a non-negative integer but got {self.seed!r}")

    @property
    def max_model_queries(self) -> int:
        """The most query embeddings one query's attack may ask for."""
        return 1 + self.budget * self.candidates

    def record(self) -> dict[str, Any]:
        return {"budget": self.budget, "unit": self.unit, "candidates": self.candidates, "seed": self.seed,
                "max_model_queries": self.max_model_queries}


@dataclass(frozen=True)
class AttackOutcome:
    """One attacked query: texts, the edits taken, the relevant candidate's rank before and after, and the query
    embeddings asked for."""

    qid: str
    original: str
    attacked: str
    edits: tuple[str, ...]
    rank_before: int
    rank_after: int
    model_queries: int

    def to_dict(self) -> dict[str, Any]:
        return {"qid": self.qid, "original": self.original, "attacked": self.attacked, "edits": list(self.edits),
                "rank_before": self.rank_before, "rank_after": self.rank_after,
                "model_queries": self.model_queries}


@dataclass
class AttackReport:
    """The attack on one setting (``query_language`` against ``pool_language``'s pool)."""

    settings: AttackSettings
    query_language: str
    pool_language: str
    outcomes: list[AttackOutcome] = field(default_factory=list)

    @property
    def success_rate(self) -> float | None:
        """Of the queries ranked first before the attack, the share not ranked first after (None if none was)."""
        first = [o for o in self.outcomes if o.rank_before == 1]
        return sum(o.rank_after > 1 for o in first) / len(first) if first else None

    @property
    def mean_rank_drop(self) -> float | None:
        """Mean of rank after minus rank before (positive: pushed down)."""
        return float(np.mean([o.rank_after - o.rank_before for o in self.outcomes])) if self.outcomes else None

    @property
    def mean_model_queries(self) -> float | None:
        return float(np.mean([o.model_queries for o in self.outcomes])) if self.outcomes else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"settings": self.settings.record(), "query_language": self.query_language,
                "pool_language": self.pool_language, "queries": len(self.outcomes),
                "success_rate": self.success_rate, "mean_rank_drop": self.mean_rank_drop,
                "mean_model_queries": self.mean_model_queries, "outcomes": [o.to_dict() for o in self.outcomes]}


@dataclass
class _Oracle:
    """The black box: a query text -> the relevant candidate's rank and score, every embedding counted."""

    model: Any
    prompt: str
    passages: np.ndarray
    batch_size: int
    asked: int = 0

    def ranks(self, texts: list[str], relevant: int, limit: int) -> list[tuple[int, float]]:
        if self.asked + len(texts) > limit:
            raise RuntimeError(f"the attack asked for {self.asked + len(texts)} query embeddings, over {limit}")
        self.asked += len(texts)
        vectors = encode_texts(self.model, texts, prompt=self.prompt, batch_size=self.batch_size,
                               show_progress=False)
        scores = vectors @ self.passages.T
        target = scores[:, relevant]
        return [(1 + int((row > t).sum()), float(t)) for row, t in zip(scores, target)]


@dataclass(frozen=True)
class _Editor:
    """Draws one-edit variants of a text in one language."""

    unit: str
    letters: tuple[str, ...]
    words: tuple[str, ...]
    keys: dict[str, tuple[str, ...]]

    def variant(self, text: str, rng: random.Random) -> tuple[str, str]:
        return self._char(text, rng) if self.unit == "char" else self._word(text, rng)

    def _char(self, text: str, rng: random.Random) -> tuple[str, str]:
        op = rng.choice(("delete", "substitute", "insert"))
        if op == "insert" or not text:
            i, new = rng.randrange(len(text) + 1), rng.choice(self.letters)
            return text[:i] + new + text[i:], f"insert {new!r} at {i}"
        i = rng.randrange(len(text))
        if op == "delete":
            return text[:i] + text[i + 1:], f"delete {text[i]!r} at {i}"
        new = neighbour_key(text[i], self.keys, self.letters, rng)
        return text[:i] + new + text[i + 1:], f"substitute {text[i]!r} -> {new!r} at {i}"

    def _word(self, text: str, rng: random.Random) -> tuple[str, str]:
        words = split_units(text).words
        joiner = "" if text_script(text) in UNSEGMENTED_SCRIPTS else " "
        op = rng.choice(("delete", "replace", "insert") if len(words) > 1 else ("replace", "insert"))
        if op == "insert":
            i, new = rng.randrange(len(words) + 1), rng.choice(self.words)
            return joiner.join(words[:i] + [new] + words[i:]), f"insert {new!r} at word {i}"
        i = rng.randrange(len(words))
        if op == "delete":
            return joiner.join(words[:i] + words[i + 1:]), f"delete {words[i]!r} at word {i}"
        new = rng.choice(self.words)
        return joiner.join(words[:i] + [new] + words[i + 1:]), f"replace {words[i]!r} -> {new!r} at word {i}"


def _attack_one(qid: str, text: str, relevant: int, oracle: _Oracle, editor: _Editor, settings: AttackSettings,
                forbidden: set[str], rng: random.Random) -> AttackOutcome:
    start = oracle.asked
    limit = start + settings.max_model_queries
    (rank, score), = oracle.ranks([text], relevant, limit)
    current, before, edits = text, rank, []
    for _ in range(settings.budget):
        tried: dict[str, str] = {}
        for _ in range(settings.candidates * 8):  # draws; duplicates and forbidden texts are skipped
            new, edit = editor.variant(current, rng)
            if new.strip() and new != current and new not in forbidden and new not in tried:
                tried[new] = edit
                if len(tried) == settings.candidates:
                    break
        if not tried:
            break
        texts = list(tried)
        results = oracle.ranks(texts, relevant, limit)
        best = max(range(len(texts)), key=lambda j: (results[j][0], -results[j][1]))
        if (results[best][0], -results[best][1]) <= (rank, -score):
            break  # no variant lowers the relevant candidate
        current, (rank, score) = texts[best], results[best]
        edits.append(tried[current])
    return AttackOutcome(qid, text, current, tuple(edits), before, rank, oracle.asked - start)


def attack_queries(qa: ParallelQA, model: str | os.PathLike[str] | SentenceTransformer | None,
                   settings: AttackSettings, *, query_language: str, pool_language: str | None = None,
                   qids: list[str] | None = None, batch_size: int = 32, device: str | None = None) -> AttackReport:
    """Attack the queries of ``query_language`` against the pool of ``pool_language`` (default: the same).

    Args:
        qa: the collection.
        model: a loaded SentenceTransformer, a model folder or hub id, or None for the default model.
        settings: budget, unit, candidates, seed.
        query_language, pool_language: the setting attacked.
        qids: the queries attacked (default: every question of ``query_language`` answered in the pool).
        batch_size: encoding batch size.
        device: torch device for a model loaded here.

    Returns:
        AttackReport: per-query outcomes, success rate, mean rank drop, model queries.

    Raises:
        UsageError: an unknown language or question id, a question without an answer in the pool.

    Example::

        report = attack_queries(qa.limit(20), None, AttackSettings(budget=2), query_language="de")
        report.success_rate, report.mean_rank_drop
    """
    pool_language = pool_language or query_language
    for lang in (query_language, pool_language):
        if lang not in qa.languages:
            raise UsageError(f"{qa.name} has no language {lang!r}; it has {', '.join(qa.languages)}")
    wanted = [q for q in qa.questions[query_language] if q in qa.relevant[pool_language]] if qids is None else qids
    for qid in wanted:
        if qid not in qa.questions[query_language] or qid not in qa.relevant[pool_language]:
            raise UsageError(f"question {qid!r} has no {query_language} text with an answer in the "
                             f"{pool_language} pool")
    if model is None or isinstance(model, (str, os.PathLike)):
        model = load_model(resolve_model(None if model is None else os.fspath(model)), device=device)
    prompts = model_prompts(model)
    pool = qa.candidates[pool_language]
    passages = encode_texts(model, [c.text for c in pool], prompt=prompts["passage"], batch_size=batch_size,
                            show_progress=False)
    index = {c.docid: i for i, c in enumerate(pool)}
    oracle = _Oracle(model, prompts["query"], passages, batch_size)
    questions = qa.questions[query_language].values()
    editor = _Editor(settings.unit, alphabet(questions) or ("a", "b"),
                     tuple(sorted({w for t in questions for w in split_units(t).words})), neighbours(query_language))
    every = {t for lang in qa.languages for t in qa.questions[lang].values()}
    report = AttackReport(settings, query_language, pool_language)
    for qid in wanted:
        text = qa.questions[query_language][qid]
        rng = random.Random(f"{settings.seed}\tattack\t{query_language}\t{qid}")
        report.outcomes.append(_attack_one(qid, text, index[qa.relevant[pool_language][qid]], oracle, editor,
                                           settings, every - {text}, rng))
    logger.info("attack %s-%s: %d queries, success rate %s, mean rank drop %.2f", query_language, pool_language,
                len(report.outcomes), report.success_rate, report.mean_rank_drop or 0.0)
    return report
