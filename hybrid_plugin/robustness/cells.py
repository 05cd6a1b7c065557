"""One model of the study evaluated on one collection -- clean, perturbed or attacked -- into the plugin's results
record, the model loaded once for all its cells.

The embedding cache is keyed by the clean collection's checksum
(:func:`~hybrid_plugin.perturb.collection.cache_checksum`) and addresses rows by text, so a perturbed or
attacked cell reads every passage (and every question the perturbation left unchanged) from the cache and encodes
only the changed questions -- as ``evaluate(..., perturb=...)`` does. The scoring is
:func:`~hybrid_plugin.evaluation.scoring.evaluate_embeddings` (ir_measures), without run files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.evaluation.cells import ModelInfo
from hybrid_plugin.evaluation.embedding_cache import EmbeddingCache, ModelIdentity, model_identity
from hybrid_plugin.evaluation.encoding import encode_parallel_qa
from hybrid_plugin.evaluation.results import EvaluationResults
from hybrid_plugin.evaluation.scoring import evaluate_embeddings
from hybrid_plugin.models.loading import load_model, model_prompts
from hybrid_plugin.perturb.attack_topics import AttackSummary, attack_collection
from hybrid_plugin.perturb.collection import apply_perturbation, cache_checksum
from hybrid_plugin.robustness.settings import Cell, RobustnessSettings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["StudyModel", "evaluate_cell"]


@dataclass
class StudyModel:
    """A model of the study, loaded once: its folder, the name its results carry, prompts, cache identity."""

    model: SentenceTransformer
    path: str
    name: str
    prompts: dict[str, str]
    identity: ModelIdentity

    @classmethod
    def load(cls, path: str, name: str) -> StudyModel:
        """Load the model in ``path`` (a local folder) and identify it for the embedding cache.

        Example::

            StudyModel.load("study/models/mlqa-r/xx/seed0", "xx (trained on mlqa-r, seed 0)").prompts
        """
        model = load_model(path)
        prompts = model_prompts(model)
        return cls(model, path, name, prompts, model_identity(path, name=name, prompts=prompts))

    def evaluate(self, qa: ParallelQA, *, limit: int | None, batch_size: int,
                 settings: dict[str, Any] | None = None) -> EvaluationResults:
        """Every mono / cross / multi setting of ``qa`` with per-query APs (through the embedding cache).

        Example::

            results = StudyModel.load(path, "base").evaluate(qa, limit=10, batch_size=32)
            results.map["cross"]
        """
        started = time.perf_counter()
        store = EmbeddingCache.for_model(self.identity, cache_checksum(qa))
        encoded = encode_parallel_qa(self.model, qa, prompts=self.prompts, batch_size=batch_size, cache=store,
                                     show_progress=False)
        outcome = evaluate_embeddings(qa, encoded, runs="none")
        timings = {"encode": encoded.stats.seconds, **outcome.seconds, "total": time.perf_counter() - started}
        return outcome.to_results(qa, model=ModelInfo(self.name, self.path, dict(self.prompts)), limit=limit,
                                  settings={"batch_size": batch_size, **(settings or {})},
                                  files={"embeddings": encoded.stats.cache_folder}, timings=timings,
                                  encoding=encoded.stats.as_dict())


def attacked_qids(qa: ParallelQA, attack_items: int | None) -> list[str] | None:
    """The items an attack cell attacks: the first ``attack_items`` of the collection (None: all)."""
    return None if attack_items is None else list(qa.qids[:attack_items])


def evaluate_cell(model: StudyModel, qa: ParallelQA, cell: Cell | None, settings: RobustnessSettings, *,
                  perturbed: tuple[ParallelQA, dict[str, Any]] | None = None,
                  ) -> tuple[EvaluationResults, AttackSummary | None]:
    """The results of ``model`` on ``qa`` clean (``cell`` None), perturbed, or attacked (against each language's
    own pool, the attacked questions that model's); ``settings["perturbation"]`` records what was done.

    Args:
        model, qa, cell, settings: the model, the clean collection, the cell, the study's settings.
        perturbed: ``apply_perturbation(qa, cell.perturbation())`` made already (shared by several models).

    Returns:
        (EvaluationResults, AttackSummary | None): the record, and the attack's summary for an attack cell.

    Example::

        results, _ = evaluate_cell(model, qa, Cell("typos", 0.1), settings)
        results.settings["perturbation"]["perturbation"]["label"]   # 'typos:0.1'
    """
    summary = None
    if cell is None:
        collection, extra = qa, {}
    elif cell.is_attack:
        qids = attacked_qids(qa, settings.attack_items)
        collection, summary = attack_collection(qa, model.model, settings.attack(cell), model_name=model.name,
                                                qids=qids, batch_size=settings.batch_size)
        extra = {"perturbation": {"perturbation": {"kind": "attack", "level": cell.level, "seed": cell.seed,
                                                   "donor": None, "label": cell.label},
                                  "attack": summary.record(), "qids": qids}}
    else:
        collection, extra = perturbed or apply_perturbation(qa, cell.perturbation())
    results = model.evaluate(collection, limit=settings.items, batch_size=settings.batch_size, settings=extra)
    return results, summary
