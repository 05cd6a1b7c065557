"""The ``hybrid-plugin evaluate`` job: load a model, encode the collection once, score every setting, and write
an output folder that Pyserini's stock commands can use.

``evaluate(qa, model, out=OUT)`` writes::

    OUT/results.json, results.md, pairs.png     the record (EvaluationResults), its table and heatmap
    OUT/runs/<X>-<Y>.txt, <X>-multi.txt         TREC runs at ``depth`` (which ones: ``runs``, see below)
    OUT/indexes/<lang>/, indexes/multi/         Pyserini Faiss flat indexes (from the same embeddings)
    OUT/encoded-queries/<lang>/                 Pyserini pre-encoded queries
    OUT/qrels/<lang>.txt, qrels/multi.txt       TREC qrels of each pool
    OUT/debias/                                 with ``debias``: the language-bias removal applied to the embeddings
    OUT/.hybrid-plugin.json                     the marker: the plugin made this folder

``runs="default"`` writes the runs the stock reproduction searches (``X-X`` and ``X-multi``), ``"all"`` every
setting (8.6 GB for XQuAD-R at depth 1000), ``"none"`` none; every setting is measured either way.

The output folder is checked first (:func:`hybrid_plugin.files.check_output`), built beside its place and swapped
in complete at the end (an interrupt leaves the previous state). Encoding resumes from the embedding cache.

What does *not* live here: the ranking and measures (:mod:`~hybrid_plugin.evaluation.scoring`), encoding and its
cache (:mod:`~hybrid_plugin.evaluation.encoding`), the results record (:mod:`~hybrid_plugin.evaluation.results`),
the table and heatmap (:mod:`hybrid_plugin.analysis`).

Example::

    from hybrid_plugin.data import load_parallel_qa
    from hybrid_plugin.evaluation import evaluate

    qa = load_parallel_qa("xquad-r", data="../shared/data/xquad-r").limit(50)
    results = evaluate(qa, None, out="evaluation", limit=50)   # the default model
    results.map["cross"], results.measure("multi", "nDCG@10"), results.settings["runs"]   # ..., "default"
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ir_measures
import numpy as np

from hybrid_plugin.analysis.plots import plot_pair_heatmap
from hybrid_plugin.analysis.tables import write_markdown_table
from hybrid_plugin.data import ParallelQA
from hybrid_plugin.debias.embeddings import AppliedDebias, apply_to_encoded, prepare_debias, read_debias
from hybrid_plugin.debias.transform import LanguageDebias
from hybrid_plugin.errors import UsageError, VerificationError
from hybrid_plugin.evaluation.embedding_cache import EmbeddingCache, model_identity
from hybrid_plugin.evaluation.encoding import EncodedQA, encode_parallel_qa
from hybrid_plugin.evaluation.measures import DEPTH, TrecMeasures
from hybrid_plugin.evaluation.pairs import PairChoice
from hybrid_plugin.evaluation.ranking import CollectionLayout
from hybrid_plugin.evaluation.cells import MULTI, TREC_MEASURES, ModelInfo, is_positive_int
from hybrid_plugin.evaluation.results import EvaluationResults
from hybrid_plugin.evaluation.scoring import RankingOutcome, RunChoice, check_run_options, evaluate_embeddings
from hybrid_plugin.files import check_output, claim_output, staged_folder
from hybrid_plugin.models import (
    DEFAULT_MODEL_ALIASES,
    DEFAULT_MODEL_NAME,
    check_device,
    load_model,
    model_prompts,
    resolve_model,
)
from hybrid_plugin.models.backends import DEFAULT_EVAL_BACKEND, DEFAULT_EVAL_PRECISION, check_backend
from hybrid_plugin.perturb.collection import apply_perturbation, cache_checksum
from hybrid_plugin.perturb.kinds import Perturbation
from hybrid_plugin.pyserini.faiss_files import write_encoded_queries, write_faiss_index
from hybrid_plugin.pyserini.trec_runs import SCORE_DECIMALS

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["EvaluateSettings", "evaluate", "verify_run_files", "write_qrels", "write_results",
           "write_search_files"]

logger = logging.getLogger(__name__)

SIMILARITY = "inner product of the model's embeddings (cosine for normalised ones)"
TIE_BREAK = "docid descending (trec_eval)"


@dataclass(frozen=True)
class EvaluateSettings:
    """The options of one ``evaluate`` call, checked when made (before anything is loaded or written).

    Args:
        batch_size (int, default 32): encoding batch size.
        depth (int, default 1000): hits per query in the runs, as Pyserini's ``--hits``.
        runs (str, default "default"): which runs are written: ``"default"`` (``X-X`` and ``X-multi``),
            ``"all"``, ``"none"``.
        workers (int, optional): threads ranking query languages and writing runs.
        run_tag (str, default "Faiss"): the runs' tag column (what ``pyserini.search.faiss`` writes).
        backend (str): the inference backend (``torch``, ``onnx``, ``openvino``; see
            :mod:`hybrid_plugin.models.backends`); precision (str): ``fp32`` or ``int8``. Both are recorded.
        pairs (PairChoice | str, default "all"): the cross-lingual pairs scored (``"sample:N[:SEED]"``).
    """

    batch_size: int = 32
    depth: int = DEPTH
    runs: RunChoice = "default"
    workers: int | None = None
    run_tag: str = "Faiss"
    backend: str = DEFAULT_EVAL_BACKEND
    precision: str = DEFAULT_EVAL_PRECISION
    pairs: PairChoice | str = "all"

    def __post_init__(self) -> None:
        check_backend(self.backend, self.precision)
        object.__setattr__(self, "pairs", PairChoice.parse(self.pairs))
        if not is_positive_int(self.batch_size):
            raise UsageError(f"--batch-size must be a positive number but got {self.batch_size!r}")
        check_run_options(self.depth, self.runs)
        if self.workers is not None and not is_positive_int(self.workers):
            raise UsageError(f"--workers must be a positive number of threads but got {self.workers!r}")
        if not isinstance(self.run_tag, str) or not self.run_tag or any(ch.isspace() for ch in self.run_tag):
            raise UsageError(f"a run tag must be non-empty without whitespace but got {self.run_tag!r}")

    def record(self) -> dict[str, Any]:
        """What ``results.settings`` says about them."""
        return {"depth": self.depth, "score_decimals": SCORE_DECIMALS, "similarity": SIMILARITY,
                "tie_break": TIE_BREAK, "batch_size": self.batch_size, "run_tag": self.run_tag, "runs": self.runs,
                "backend": self.backend, "precision": self.precision} | PairChoice.parse(self.pairs).record()


@dataclass(frozen=True)
class _Model:
    """A loaded model and what the record says about it."""

    model: SentenceTransformer
    path: str | None
    name: str
    prompts: dict[str, str]

    @classmethod
    def load(cls, model: str | os.PathLike[str] | SentenceTransformer | None, name: str | None,
             device: str | None, settings: EvaluateSettings) -> _Model:
        if model is not None and not isinstance(model, (str, os.PathLike)):
            default = getattr(getattr(model, "model_card_data", None), "base_model", None) or "model"
            return cls(model, None, name or default, model_prompts(model))
        argument = None if model is None else os.fspath(model)
        path = resolve_model(argument)
        if name is None:
            name = DEFAULT_MODEL_NAME if argument is None or argument in DEFAULT_MODEL_ALIASES else argument
        loaded = load_model(path, device=device, backend=settings.backend, precision=settings.precision)
        return cls(loaded, path, name, model_prompts(loaded))

    def info(self) -> ModelInfo:
        return ModelInfo(self.name, self.path, dict(self.prompts))

    def encode(self, qa: ParallelQA, settings: EvaluateSettings, *, cache: bool, debias: LanguageDebias | None,
               allow_same_data: bool, show_progress: bool) -> tuple[EncodedQA, AppliedDebias | None]:
        """Encode ``qa`` (through the embedding cache), then apply ``debias`` once it is checked against this
        model: the cache holds the model's own embeddings, the transform comes after it."""
        identity = None
        if self.path is not None and (cache or debias is not None):
            identity = model_identity(self.path, name=self.name, prompts=self.prompts, backend=settings.backend,
                                      precision=settings.precision)  # type: ignore[arg-type]
        applied = prepare_debias(debias, qa, model=self.model, model_path=self.path, prompts=self.prompts,
                                 model_digest=None if identity is None else identity.digest,
                                 allow_same_data=allow_same_data)
        store = EmbeddingCache.for_model(identity, cache_checksum(qa)) if cache and identity is not None else None
        encoded = encode_parallel_qa(self.model, qa, prompts=self.prompts, batch_size=settings.batch_size,
                                     cache=store, show_progress=show_progress)
        return (encoded, None) if applied is None else (apply_to_encoded(applied.transform, encoded), applied)


def _check_collection(qa: ParallelQA) -> None:
    if not isinstance(qa, ParallelQA):
        raise UsageError(f"qa must be a ParallelQA (see load_parallel_qa) but got {type(qa).__name__}")
    qa.require_languages(2, "evaluation (mono, cross and multilingual settings)")


def evaluate(
    qa: ParallelQA,
    model: str | os.PathLike[str] | SentenceTransformer | None = None,
    *,
    out: str | Path | None = None,
    model_name: str | None = None,
    batch_size: int = 32,
    depth: int = DEPTH,
    runs: RunChoice = "default",
    limit: int | None = None,
    cache: bool = True,
    overwrite: bool = False,
    device: str | None = None,
    show_progress: bool = True,
    workers: int | None = None,
    verify_runs: bool = False,
    per_query: bool = True,
    load_seconds: float | None = None,
    run_tag: str = "Faiss",
    training: Mapping[str, Any] | None = None,
    backend: str = DEFAULT_EVAL_BACKEND,
    precision: str = DEFAULT_EVAL_PRECISION,
    debias: LanguageDebias | str | os.PathLike[str] | None = None,
    allow_same_data: bool = False,
    perturb: Perturbation | str | None = None,
    pairs: PairChoice | str = "all",
) -> EvaluationResults:
    """Evaluate a dense model on every mono, cross and multilingual setting of ``qa``.

    Encodes each distinct text once (embeddings cached on disk by model content and data checksum), ranks every
    setting, and returns the results; with ``out``, also writes the folder described in the module docstring.

    Args:
        qa (ParallelQA): the collection (already limited / restricted to languages; at least two languages).
        model (str | SentenceTransformer | None): a model folder or hub id, a loaded model, or None for the
            default model.
        out (str | Path, optional): output folder; None computes the numbers only (no files).
        model_name (str, optional): the name to report (default: the argument, or the default model's name).
        batch_size (int, default 32): encoding batch size.
        depth (int, default 1000): hits per query in the runs (written or not), as Pyserini's ``--hits``.
        runs (str, default "default"): which runs are written to ``out/runs``: ``"default"`` (the mono
            settings and the multilingual pools), ``"all"``, ``"none"``. The measures are the same.
        limit (int, optional): recorded in the results (the items ``qa`` was limited to).
        cache (bool, default True): use the on-disk embedding cache.
        overwrite (bool, default False): replace the output of an earlier ``evaluate`` in ``out``.
        device (str, optional): torch device for a model loaded here.
        show_progress (bool, default True): progress bars.
        workers (int, optional): threads for ranking and writing runs (default: CPU count + 1, at most 4).
        verify_runs (bool, default False): re-read every run file written with stock ir_measures and check it.
        per_query (bool, default True): keep per-query APs in the results (for significance tests).
        load_seconds (float, optional): time the caller spent loading ``qa`` (added to the timings and total).
        run_tag (str, default "Faiss"): the runs' tag column; ``pyserini.search.faiss`` writes "Faiss", so the
            lines are the ones the stock command prints for the same scores (the model is named in the results).
        training (dict, optional): how the model was trained, recorded in the results.
        backend (str): inference backend for a model loaded here (a loaded model runs as it was loaded): ``torch``, ``onnx`` or ``openvino``
            (default :data:`~hybrid_plugin.models.backends.DEFAULT_EVAL_BACKEND`); recorded in the results.
        precision (str): ``fp32``, or ``int8`` (onnx only); recorded in the results.
        debias (LanguageDebias | str, optional): a language-bias removal fitted on this model (or the folder
            ``hybrid-plugin debias`` wrote), applied to the embeddings before scoring and before the Faiss
            indexes and pre-encoded queries are written; recorded in ``settings["debias"]``, saved in
            ``out/debias`` (see :mod:`hybrid_plugin.debias`).
        allow_same_data (bool, default False): allow a transform fitted on the collection evaluated (an oracle).
        perturb (Perturbation | str, optional): evaluate with perturbed questions (``"typos:0.1"``; pools
            unchanged; :mod:`hybrid_plugin.perturb`), recorded in ``settings["perturbation"]``.
        pairs (PairChoice | str, default "all"): ``"sample:N[:SEED]"`` scores X->en, en->X and N more cross pairs
            (:mod:`~hybrid_plugin.evaluation.pairs`); recorded in ``settings["pairs"]``.

    Returns:
        EvaluationResults: the record (also ``out/results.json``).

    Raises:
        UsageError: a bad argument; ``out`` is not empty and was not written by the plugin, or holds an
            earlier evaluation and ``overwrite`` is False; a collection with fewer than two languages; a
            transform fitted on another model, on the collection evaluated, or without one of its languages.
        DataError: a ``debias`` folder whose files are missing or malformed.
    """
    started = time.perf_counter()
    if model is not None and not isinstance(model, (str, os.PathLike)):  # a loaded model runs as it was loaded
        info = getattr(model, "backend_info", {})
        backend, precision = info.get("backend", "torch"), info.get("precision", "fp32")
    settings = EvaluateSettings(batch_size=batch_size, depth=depth, runs=runs, workers=workers, run_tag=run_tag,
                                backend=backend, precision=precision, pairs=pairs)
    out_path = None if out is None else Path(out)
    if out_path is not None:
        check_output(out_path, overwrite=overwrite)
    _check_collection(qa)
    qa, perturbed = apply_perturbation(qa, perturb)
    check_device(device)
    transform = read_debias(debias)
    if transform is not None:
        transform.check_languages(qa.languages)  # before the model is loaded
    timings = {} if load_seconds is None else {"load_data": load_seconds}
    t0 = time.perf_counter()
    loaded = _Model.load(model, model_name, device, settings)
    timings["load_model"] = time.perf_counter() - t0
    encoded, applied = loaded.encode(qa, settings, cache=cache, debias=transform, allow_same_data=allow_same_data,
                                     show_progress=show_progress)
    timings["encode"] = encoded.stats.seconds
    job = _Scoring(qa, loaded, encoded, settings, timings, show_progress=show_progress, debias=applied,
                   extra_settings=perturbed)
    if out_path is None:
        return job.results(None, started, limit=limit, per_query=per_query, training=training)
    with staged_folder(out_path, overwrite=overwrite) as staged:
        results = job.results(staged, started, limit=limit, per_query=per_query, training=training,
                              verify_runs=verify_runs)
        write_results(results, staged)
        claim_output(staged, "evaluate")
    return results


@dataclass
class _Scoring:
    """The part of ``evaluate`` after encoding: Pyserini files, ranking, the record."""

    qa: ParallelQA
    loaded: _Model
    encoded: EncodedQA
    settings: EvaluateSettings
    timings: dict[str, float]
    show_progress: bool
    debias: AppliedDebias | None = None
    extra_settings: Mapping[str, Any] | None = None

    def results(self, folder: Path | None, started: float, *, limit: int | None, per_query: bool,
                training: Mapping[str, Any] | None, verify_runs: bool = False) -> EvaluationResults:
        """Score every setting (writing into ``folder`` when given) and build the record."""
        settings, timings = self.settings, self.timings
        files: dict[str, str | None] = {"embeddings": self.encoded.stats.cache_folder}
        runs_dir = None
        if folder is not None:
            t0 = time.perf_counter()
            written = write_search_files(folder, self.qa, self.encoded)
            timings["indexes"] = time.perf_counter() - t0
            runs_dir = folder / "runs" if settings.runs != "none" else None
            files.update({"runs": "runs"} if runs_dir is not None else {})
            files.update(written)
            files.update(self.debias.write(folder) if self.debias is not None else {})
        outcome = evaluate_embeddings(self.qa, self.encoded, runs_dir=runs_dir, runs=settings.runs,
                                      depth=settings.depth, tag=settings.run_tag, show_progress=self.show_progress,
                                      workers=settings.workers, pairs=settings.pairs)
        timings.update(outcome.seconds)
        if verify_runs and runs_dir is not None:
            t0 = time.perf_counter()
            verify_run_files(self.qa, outcome, runs_dir)
            timings["verify_runs"] = time.perf_counter() - t0
        timings["total"] = time.perf_counter() - started + timings.get("load_data", 0.0)
        timings["outside_encoding"] = timings["total"] - timings["encode"]
        timings["outside_encoding_share"] = timings["outside_encoding"] / timings["total"]
        record = settings.record() | ({"debias": self.debias.record()} if self.debias is not None else {})
        record |= dict(self.extra_settings or {})
        results = outcome.to_results(self.qa, model=self.loaded.info(), limit=limit, per_query=per_query,
                                     settings=record, files=files, timings=timings,
                                     encoding=self.encoded.stats.as_dict())
        return results if training is None else results.with_training(training)


def write_search_files(folder: Path, qa: ParallelQA, encoded: EncodedQA) -> dict[str, str]:
    """Write the Faiss indexes (one per language and one of the multilingual pool), the pre-encoded queries and
    the qrels under ``folder`` (a query-only language has queries, no index); return the ``results.files`` entries."""
    pooled = [lang for lang in qa.languages if lang not in qa.query_only]
    docids = {lang: [c.docid for c in qa.candidates[lang]] for lang in pooled}
    for lang in pooled:
        write_faiss_index(folder / "indexes" / lang, encoded.passages[lang], docids[lang])
    write_faiss_index(folder / "indexes" / MULTI, np.concatenate([encoded.passages[lang] for lang in pooled]),
                      [d for lang in pooled for d in docids[lang]])
    for lang in qa.languages:
        write_encoded_queries(folder / "encoded-queries" / lang, list(qa.questions[lang].values()),
                              encoded.queries[lang])
    write_qrels(folder / "qrels", qa)
    return {"indexes": "indexes", "encoded_queries": "encoded-queries", "qrels": "qrels"}


def write_qrels(folder: Path, qa: ParallelQA) -> None:
    """TREC qrels ``qid 0 docid 1`` of each pool (``<lang>.txt``) and of the multilingual pool (``multi.txt``)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines_all = []
    for y in (lang for lang in qa.languages if lang not in qa.query_only):  # a query-only language has no pool
        lines = [f"{qid} 0 {docid} 1\n" for qid, docid in qa.relevant[y].items()]
        (folder / f"{y}.txt").write_text("".join(lines), encoding="utf-8")
        lines_all.extend(lines)
    (folder / f"{MULTI}.txt").write_text("".join(lines_all), encoding="utf-8")


def write_results(results: EvaluationResults, out: str | Path) -> Path:
    """Write ``results.json`` (atomically), the Markdown table ``results.md`` and the heatmap ``pairs.png``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = results.save(out)
    write_markdown_table(results, out / "results.md")
    plot_pair_heatmap(results, out / "pairs.png")
    return path


def verify_run_files(qa: ParallelQA, outcome: RankingOutcome, runs_dir: str | Path, *,
                     tolerance: float = 1e-9) -> None:
    """Re-read every run file the outcome wrote with the stock ``ir_measures.read_trec_run`` and check its
    measures against the outcome's.

    Raises:
        VerificationError: a run's mean R@1, R@10, nDCG@10 or AP@1000 differs from the results, or the file
            holds queries that were not searched.
    """
    layout = CollectionLayout.of(qa)
    trec = TrecMeasures(qa, layout)
    runs_dir = Path(runs_dir)
    for x, pool in outcome.written:
        cell = outcome.multi[x] if pool == MULTI else outcome.pairs[f"{x}-{pool}"]
        path = runs_dir / f"{x}-{pool}.txt"
        run: dict[str, dict[str, float]] = {}
        for doc in ir_measures.read_trec_run(str(path)):
            run.setdefault(doc.query_id, {})[doc.doc_id] = doc.score
        qids = [layout.qids[x][i] for i in layout.searched(x, pool).tolist()]
        extra = set(run).difference(qids)
        if extra:
            raise VerificationError(f"the file holds queries that were not searched: {sorted(extra)[:3]}", path)
        got = trec.means(trec.score(pool, run), qids)
        for measure in TREC_MEASURES:
            expected = cell.values[measure]
            if expected is None or abs(got[measure] - expected) > tolerance:
                raise VerificationError(f"{measure}: the file scores {got[measure]:.9f}, the results say "
                                        f"{expected if expected is None else format(expected, '.9f')}", path)

