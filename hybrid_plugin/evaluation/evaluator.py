"""``MultilingualRetrievalEvaluator``: the evaluation as a sentence-transformers evaluator (for use in training).

It gives the numbers of ``hybrid-plugin evaluate --limit N`` (same subset, same ranking), computed in memory: no
files, no embedding cache, and only the full-ranking mAP and language bias (no ir_measures side), so that it is
cheap enough to run at every evaluation step of a training.

What does *not* live here: the ranking (:mod:`~hybrid_plugin.evaluation.scoring`), the ``evaluate`` job with its
files (:mod:`~hybrid_plugin.evaluation.pipeline`).
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

import numpy as np

# the base class is needed when the class is defined; hybrid_plugin.evaluation imports this module lazily
from sentence_transformers.sentence_transformer.evaluation import SentenceEvaluator

from hybrid_plugin.data import ParallelQA
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.encoding import encode_parallel_qa
from hybrid_plugin.evaluation.pairs import PairChoice
from hybrid_plugin.evaluation.ranking import CollectionLayout
from hybrid_plugin.evaluation.cells import SETTINGS, DatasetInfo, ModelInfo
from hybrid_plugin.evaluation.results import EvaluationResults
from hybrid_plugin.evaluation.scoring import RankingOutcome, evaluate_embeddings
from hybrid_plugin.models import model_prompts
from hybrid_plugin.models.backends import check_backend, runtime_copy

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["MultilingualRetrievalEvaluator"]

logger = logging.getLogger(__name__)

PrimaryMetric = Literal["map_mono", "map_cross", "map_multi", "map_mean"]


class MultilingualRetrievalEvaluator(SentenceEvaluator):
    """A sentence-transformers evaluator: mono, cross and multilingual full-ranking mAP and language bias.

    It gives the same numbers as ``hybrid-plugin evaluate --limit max_questions`` (same subset, same ranking),
    computed in memory (no Pyserini, no files), so that it can run inside training (``evaluator=``).

    Args:
        qa (ParallelQA): the evaluation collection.
        max_questions (int, optional): keep the first this many items (and only the paragraphs holding their
            answers, as ``--limit`` does). Default: None (all).
        languages (list[str], optional): keep only these languages.
        name (str, default ""): prefix of the metric names.
        batch_size (int, default 32): encoding batch size.
        show_progress_bar (bool, default False): tqdm bars while encoding.
        primary_metric (str, default "map_mean"): one of ``map_mono``, ``map_cross``, ``map_multi``,
            ``map_mean`` (the mean of the three); the metric used to pick the best checkpoint.
        write_csv (bool, default True): append the metrics to ``<output_path>/<name>_results.csv``.
        backend (str, default "torch"), precision (str, default "fp32"): encode with a copy of the model exported
            to this backend at every call (see :mod:`hybrid_plugin.models.backends`); training stays PyTorch.
        pairs (str, default "all"): the cross-lingual pairs scored, as ``evaluate --pairs``: ``"sample:N[:SEED]"``
            scores every X -> en and en -> X plus N seeded other pairs (NTREX-128's 128 languages give 16,256
            pairs; ``map_cross`` is then the mean over the scored pairs).

    Returns (``__call__``):
        ``{"<name>_map_mono", "<name>_map_cross", "<name>_map_multi", "<name>_map_mean", "<name>_bias"}``
        (bias: lower is better).

    Example::

        from hybrid_plugin import MultilingualRetrievalEvaluator, load_parallel_qa
        from hybrid_plugin.models import load_model

        qa = load_parallel_qa("xquad-r", data="../shared/data/xquad-r")
        evaluator = MultilingualRetrievalEvaluator(qa, max_questions=50, name="xquad-r")
        metrics = evaluator(load_model())
        metrics["xquad-r_map_cross"], evaluator.primary_metric   # (0.6..., "xquad-r_map_mean")
    """

    _PRIMARY = ("map_mono", "map_cross", "map_multi", "map_mean")

    def __init__(self, qa: ParallelQA, *, max_questions: int | None = None, languages: Iterable[str] | None = None,
                 name: str = "", batch_size: int = 32, show_progress_bar: bool = False,
                 primary_metric: PrimaryMetric = "map_mean", write_csv: bool = True,
                 backend: str = "torch", precision: str = "fp32", pairs: PairChoice | str = "all") -> None:
        super().__init__()
        self.pairs = PairChoice.parse(pairs)  # a bad spec is a UsageError here, before any training step
        check_backend(backend, precision)
        if not isinstance(qa, ParallelQA):
            raise UsageError(f"qa must be a ParallelQA (see load_parallel_qa) but got {type(qa).__name__}")
        if max_questions is not None and (isinstance(max_questions, bool) or not isinstance(max_questions, int)
                                          or max_questions < 1):
            raise UsageError(f"max_questions must be a positive number of items or None but got {max_questions!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise UsageError(f"batch_size must be a positive number but got {batch_size!r}")
        if primary_metric not in self._PRIMARY:
            raise UsageError(f"primary_metric must be one of {', '.join(self._PRIMARY)} but got {primary_metric!r}")
        if languages is not None:
            qa = qa.select_languages(languages)
        self.qa = qa.limit(max_questions)
        self.max_questions = max_questions
        self.name = name
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self.write_csv = write_csv
        self.backend, self.precision = backend, precision
        self.primary_metric = primary_metric
        self.greater_is_better = True
        self.csv_file = f"{name + '_' if name else ''}multilingual_retrieval_results.csv"
        self.csv_headers = ["epoch", "steps", "map_mono", "map_cross", "map_multi", "map_mean", "bias"]
        CollectionLayout.of(self.qa)  # validates the collection once, before any training step

    def compute(self, model: SentenceTransformer) -> RankingOutcome:
        """Encode the subset and rank it (the full per-setting outcome; full-ranking mAP and bias only)."""
        with tempfile.TemporaryDirectory(prefix="hybrid-plugin-eval-") as folder:
            runtime = runtime_copy(model, self.backend, self.precision, folder)  # the model itself stays PyTorch
            encoded = encode_parallel_qa(runtime, self.qa, prompts=model_prompts(model), batch_size=self.batch_size,
                                         cache=None, show_progress=self.show_progress_bar)
        return evaluate_embeddings(self.qa, encoded, depth=0, pairs=self.pairs)

    def __call__(self, model: SentenceTransformer, output_path: str | None = None, epoch: int = -1,
                 steps: int = -1) -> dict[str, float]:
        where = f" after epoch {epoch}" if epoch != -1 else ""
        where += f" step {steps}" if steps != -1 else ""
        outcome = self.compute(model)
        record = EvaluationResults.from_cells(model=ModelInfo(self.name or "model"),
                                              dataset=DatasetInfo(self.qa.name, tuple(self.qa.languages)),
                                              pairs=outcome.pairs.values(), multi=outcome.multi.values())
        maps = record.map
        values = [maps[s] for s in SETTINGS if maps[s] is not None]
        metrics = {"map_mono": maps["mono"], "map_cross": maps["cross"], "map_multi": maps["multi"],
                   "map_mean": float(np.mean(values)) if values else None, "bias": record.bias}
        metrics = {k: (float("nan") if v is None else float(v)) for k, v in metrics.items()}
        logger.info("multilingual retrieval on %s%s: mAP mono %.4f cross %.4f multi %.4f, bias %.1f",
                    self.qa.name, where, metrics["map_mono"], metrics["map_cross"], metrics["map_multi"],
                    metrics["bias"])
        if output_path is not None and self.write_csv:
            self._append_csv(output_path, [epoch, steps, *metrics.values()])
        metrics = self.prefix_name_to_metrics(metrics, self.name)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics

    def _append_csv(self, output_path: str, row: list[float | int]) -> None:
        os.makedirs(output_path, exist_ok=True)
        csv_path = os.path.join(output_path, self.csv_file)
        new = not os.path.isfile(csv_path)
        with open(csv_path, "a", encoding="utf-8") as handle:
            if new:
                handle.write(",".join(self.csv_headers) + "\n")
            handle.write(",".join(str(v) for v in row) + "\n")

    @property
    def description(self) -> str:
        return "Multilingual retrieval (mono / cross / multi mAP)"
