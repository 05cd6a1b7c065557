"""Training a multilingual retriever with hybrid batches: the training set, and one library function per run.

:func:`build_training_dataset` turns a :class:`~hybrid_plugin.data.ParallelQA` into the rows that
:class:`~hybrid_plugin.sampler.HybridBatchSampler` batches: one row per (item, query language, passage language)
that exists -- XQuAD-R gives 1,190 x 11 x 11 = 143,990 rows -- with the text columns the loss sees and hidden
integer metadata. :func:`train` runs sentence-transformers' trainer with the sampler, the
:class:`~hybrid_plugin.callback.HybridTrainingCallback` and ``MultipleNegativesRankingLoss`` (or its cached variant)
and writes a normal sentence-transformers folder plus ``training.json``; ``hybrid-plugin train`` is a thin shell
over it.

Example::

    from hybrid_plugin.data import load_parallel_qa
    from hybrid_plugin.training import build_training_dataset

    qa = load_parallel_qa("xquad-r", data="../shared/data/xquad-r").limit(20)
    rows = build_training_dataset(qa, hard_negatives=True)
    rows[0]          # {'anchor': ..., 'positive': ..., 'negative': ...}: the texts only
    len(rows)        # 2420 = 20 items x 11 x 11
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from hybrid_plugin.data import Candidate, ParallelQA
from hybrid_plugin.errors import UsageError
from hybrid_plugin.provenance import package_versions

if TYPE_CHECKING:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer

__all__ = [
    "Sampling",
    "LossName",
    "PAPER_PRESET",
    "TrainingSettings",
    "TrainingResult",
    "build_training_dataset",
    "freeze_input_embeddings",
    "train",
]

logger = logging.getLogger(__name__)

Sampling = Literal["hybrid", "xx", "xy"]
LossName = Literal["mnrl", "cached-mnrl"]

PAPER_PRESET: dict[str, Any] = {
    "batch_size": 100,
    "lr": 3e-5,
    "weight_decay": 0.01,
    "max_seq_length": 256,
    "max_steps": None,
    "epochs": 1.0,
    "warmup_ratio": 0.1,
    "freeze_embeddings": False,
}
"""``--paper``: the paper's optimiser settings (AdamW, lr 3e-5, weight decay 0.01, batch 100), one full epoch,
passages up to 256 tokens, all weights trained."""

_STREAM_FIELDS = ("train", "data", "model", "sampling", "alpha", "language_weights", "xy_mode", "mixing",
                  "batch_size", "seed", "languages", "limit", "hard_negatives", "max_seq_length", "loss")
"""Settings that change the batches or the model: a resumed run must keep them."""


# ---------------------------------------------------------------------------------------------------- data


def _paragraphs(qa: ParallelQA, language: str) -> dict[int, list[Candidate]]:
    groups: dict[int, list[Candidate]] = {}
    for cand in qa.candidates[language]:
        groups.setdefault(cand.paragraph, []).append(cand)
    return groups


def build_training_dataset(qa: ParallelQA, *, hard_negatives: bool = False, seed: int = 0) -> Dataset:
    """The training rows of a parallel collection, ready for :class:`~hybrid_plugin.sampler.HybridBatchSampler`.

    One row per item and (query language, passage language) in which the item exists, X-X and X-Y alike (the
    sampler chooses between them). Visible columns -- what the loss sees -- are ``anchor`` (the question),
    ``positive`` (its answer sentence) and, with ``hard_negatives``, ``negative``: another sentence of the same
    paragraph in the passage's language (a different text; a random sentence of another paragraph when the
    paragraph has no other). Hidden metadata columns (:data:`~hybrid_plugin.sampler.METADATA_COLUMNS`): item index,
    query and passage language (``ClassLabel`` over ``qa.languages``) and integer ids of the passage texts.

    Args:
        qa (ParallelQA): the collection (use ``qa.limit(n)`` / ``qa.select_languages(...)`` to cut it).
        hard_negatives (bool): add the ``negative`` column. Defaults to False.
        seed (int): seed of the choice of hard negatives. Defaults to 0.

    Returns:
        datasets.Dataset: the rows, formatted to show only the text columns.
    """
    from datasets import ClassLabel, Dataset, Features, Value

    from hybrid_plugin.sampler import (
        ITEM_COLUMN,
        PASSAGE_LANGUAGE_COLUMN,
        QUERY_LANGUAGE_COLUMN,
        TEXT_ID_COLUMNS,
        hide_metadata_columns,
    )

    rng = np.random.default_rng(seed)
    languages = list(qa.languages)
    lang_index = {lang: i for i, lang in enumerate(languages)}
    text_ids: dict[str, int] = {}
    paragraphs = {lang: _paragraphs(qa, lang) for lang in languages} if hard_negatives else {}
    columns: dict[str, list[Any]] = {name: [] for name in (
        "anchor", "positive", "negative", ITEM_COLUMN, QUERY_LANGUAGE_COLUMN, PASSAGE_LANGUAGE_COLUMN,
        *TEXT_ID_COLUMNS)}
    fallbacks = 0
    for item, qid in enumerate(qa.qids):
        item_langs = qa.item_languages(qid)
        for p in item_langs:
            positive = qa.positive(qid, p)
            if positive is None:  # an item with a question but no answer in p (not produced by our readers)
                continue
            pos_id = text_ids.setdefault(positive.text, len(text_ids))
            negative_text, neg_id = "", -1
            if hard_negatives:
                negative, fell_back = _hard_negative(qa, positive, paragraphs[p], rng)
                fallbacks += fell_back
                negative_text = negative.text
                neg_id = text_ids.setdefault(negative_text, len(text_ids))
            for q in item_langs:
                columns["anchor"].append(qa.questions[q][qid])
                columns["positive"].append(positive.text)
                columns["negative"].append(negative_text)
                columns[ITEM_COLUMN].append(item)
                columns[QUERY_LANGUAGE_COLUMN].append(lang_index[q])
                columns[PASSAGE_LANGUAGE_COLUMN].append(lang_index[p])
                columns[TEXT_ID_COLUMNS[0]].append(pos_id)
                columns[TEXT_ID_COLUMNS[1]].append(neg_id)
    if not columns["anchor"]:
        raise UsageError(f"{qa.name} gives no training pairs")
    if fallbacks:
        logger.info("%d of %d passages have no other sentence in their paragraph: their negative is a sentence of "
                    "another paragraph", fallbacks, len(set(columns[TEXT_ID_COLUMNS[0]])))
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


# ---------------------------------------------------------------------------------------------------- model


def freeze_input_embeddings(model: SentenceTransformer) -> int:
    """Freeze the token-embedding matrix of a sentence-transformers model; returns how many weights it holds.

    multilingual-e5-small keeps 96 M of its 118 M weights in its 250k-token embedding matrix; freezing it leaves
    22 M to train and spares the optimiser and the dense embedding gradient: a CPU step at batch 32 went from 5.6 s
    to 3.7 s (``benchmarks/sampler/freeze_embeddings.json``). Tokens keep their pre-trained vectors, so only the
    encoder above them adapts; after 100 hybrid steps on XQuAD-R the two models scored the same on MLQA-R (mAP mono
    / cross / multi 0.687 / 0.610 / 0.498 frozen vs 0.687 / 0.609 / 0.498 trained). Longer runs, which move the
    embeddings more, were not measured.
    """
    frozen = 0
    for module in model.modules():
        get = getattr(module, "get_input_embeddings", None)
        if get is None or not callable(get):
            continue
        try:
            embeddings = get()
        except (NotImplementedError, AttributeError):
            continue
        if embeddings is None or not hasattr(embeddings, "weight"):
            continue
        embeddings.weight.requires_grad_(False)
        frozen = embeddings.weight.numel()
        break
    if not frozen:
        raise UsageError("--freeze-embeddings: the model has no token-embedding matrix to freeze")
    return frozen


# ---------------------------------------------------------------------------------------------------- runs


@dataclass
class TrainingSettings:
    """What one training run does (the options of ``hybrid-plugin train``).

    Args:
        train (str): ``"xquad-r"``, ``"mlqa-r"``, a LAReQA-style folder, a parallel ``.jsonl`` file or a folder
            written by ``hybrid-plugin prepare`` (see :func:`~hybrid_plugin.data.load_parallel_qa`).
        out (str | Path): output folder: the final model, ``checkpoints/``, ``training.json``.
        data (str | Path, optional): local folder of a named set.
        model (str, optional): base model (hub id or folder); None: the default model.
        sampling (str): ``"hybrid"`` (α = ``alpha``), ``"xx"`` (α = 1) or ``"xy"`` (α = 0). Defaults to hybrid.
        alpha (float, optional): share of X-X batches, for ``"hybrid"`` only. Defaults to None (0.5, the paper's
            best).
        language_weights, xy_mode, mixing: see :class:`~hybrid_plugin.sampler.HybridBatchSampler`.
        alpha_schedule (str | float | Callable, optional): see :class:`~hybrid_plugin.callback.HybridTrainingCallback`.
        max_steps (int, optional): optimisation steps; None: ``epochs`` decides. Defaults to 50 (minutes on a CPU).
        epochs (float): epochs when ``max_steps`` is None (an epoch = rows / batch size steps). Defaults to 1.
        batch_size (int): pairs per batch and process. Defaults to 32.
        lr (float): AdamW learning rate. Defaults to 3e-5.
        weight_decay (float): Defaults to 0.01.
        warmup_ratio (float): linear warm-up share of the steps. Defaults to 0.1.
        max_seq_length (int): tokens per text. Defaults to 64.
        seed (int): Defaults to 0.
        resume (bool): continue from the last checkpoint in ``out/checkpoints``. Defaults to False.
        overwrite (bool): replace an existing training output in ``out``. Defaults to False.
        freeze_embeddings (bool): freeze the token-embedding matrix. Defaults to False.
        languages (Sequence[str], optional): train on these languages only.
        limit (int, optional): keep the first ``limit`` items.
        hard_negatives (bool): add a same-paragraph hard negative per pair. Defaults to False.
        loss (str): ``"mnrl"`` or ``"cached-mnrl"`` (large batches on small memory). Defaults to ``"mnrl"``.
        mini_batch_size (int): mini-batch of ``"cached-mnrl"``. Defaults to 16.
        scale (float): the loss's similarity scale (inverse temperature). Defaults to 20.
        save_steps (int, optional): checkpoint every so many steps; None: once at the end. Defaults to None.
        save_total_limit (int): checkpoints kept. Defaults to 2.
        logging_steps (int): Defaults to 10.
        device (str, optional): ``"cpu"``, ``"cuda"``...; None lets the trainer choose.
    """

    train: str
    out: str | Path
    data: str | Path | None = None
    model: str | None = None
    sampling: Sampling = "hybrid"
    alpha: float | None = None
    language_weights: str = "uniform"
    xy_mode: str = "pair_per_batch"
    mixing: str = "batch"
    alpha_schedule: str | float | Callable[[int], float] | None = None
    max_steps: int | None = 50
    epochs: float = 1.0
    batch_size: int = 32
    lr: float = 3e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_seq_length: int = 64
    seed: int = 0
    resume: bool = False
    overwrite: bool = False
    freeze_embeddings: bool = False
    languages: Sequence[str] | None = None
    limit: int | None = None
    hard_negatives: bool = False
    loss: LossName = "mnrl"
    mini_batch_size: int = 16
    scale: float = 20.0
    save_steps: int | None = None
    save_total_limit: int = 2
    logging_steps: int = 10
    device: str | None = None

    def __post_init__(self) -> None:
        if self.sampling not in get_args(Sampling):
            raise UsageError(f"--sampling must be one of {', '.join(get_args(Sampling))}, got {self.sampling!r}")
        if self.loss not in get_args(LossName):
            raise UsageError(f"--loss must be one of {', '.join(get_args(LossName))}, got {self.loss!r}")
        if self.alpha is not None:
            if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) \
                    or not 0.0 <= self.alpha <= 1.0:
                raise UsageError(f"--alpha must be in [0, 1] (1 = X-X only, 0 = X-Y only), got {self.alpha}")
            if self.sampling != "hybrid":
                raise UsageError(f"--alpha goes with --sampling hybrid; --sampling {self.sampling} fixes alpha at "
                                 f"{self.effective_alpha:g}")
        for name in ("batch_size", "max_seq_length", "mini_batch_size", "logging_steps", "save_total_limit"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be a positive integer, got {value!r}")
        for name in ("max_steps", "limit", "save_steps"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise UsageError(f"--{name.replace('_', '-')} must be a positive integer, got {value!r}")
        if not self.epochs > 0:
            raise UsageError(f"--epochs must be positive, got {self.epochs}")
        if not self.lr > 0:
            raise UsageError(f"--lr must be positive, got {self.lr}")
        if self.weight_decay < 0 or not 0 <= self.warmup_ratio < 1:
            raise UsageError("--weight-decay must be >= 0 and --warmup-ratio in [0, 1)")
        if self.resume and self.overwrite:
            raise UsageError("--resume and --overwrite exclude each other")
        if self.languages is not None:
            self.languages = tuple(self.languages)
            if len(self.languages) < 2 and self.sampling != "xx":
                raise UsageError("X-Y batches need at least two --languages")
        if self.sampling != "hybrid" and self.alpha_schedule is not None:
            raise UsageError("an alpha schedule goes with --sampling hybrid")

    @property
    def effective_alpha(self) -> float:
        if self.sampling == "hybrid":
            return 0.5 if self.alpha is None else float(self.alpha)
        return 1.0 if self.sampling == "xx" else 0.0

    def to_json(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            elif callable(value):
                value = getattr(value, "__name__", repr(value))
            out[f.name] = value
        return out


@dataclass
class TrainingResult:
    """What :func:`train` returns (and writes, as JSON, to ``out/training.json``)."""

    out: Path
    report: dict[str, Any] = field(default_factory=dict)


def _check_out(settings: TrainingSettings) -> tuple[str | None, bool]:
    """Check the output folder (changing nothing); return the checkpoint to resume from (None for a fresh run)
    and whether an old output must be deleted first (``--overwrite``)."""
    from transformers.trainer_utils import get_last_checkpoint

    out = Path(settings.out)
    checkpoints = out / "checkpoints"
    if settings.resume:
        last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
        if last is None:
            raise UsageError(f"--resume: {checkpoints} holds no checkpoint to resume from", out)
        _check_resume_settings(settings, out)
        return last, False
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not settings.overwrite:
            raise UsageError("the output folder exists; pass --resume to continue its run or --overwrite to "
                             "replace it", out)
        ours = {"training.json", "run.json", "checkpoints", "modules.json", "config.json"}
        if not out.is_dir() or not ours & {p.name for p in out.iterdir()}:
            raise UsageError("--overwrite: the folder does not look like a training output; refusing to delete it",
                             out)
        return None, True
    return None, False


def _check_resume_settings(settings: TrainingSettings, out: Path) -> None:
    path = out / "run.json"
    if not path.is_file():
        return
    before = json.loads(path.read_text(encoding="utf-8")).get("settings", {})
    now = settings.to_json()
    changed = [f"{k} ({before.get(k)!r} -> {now.get(k)!r})" for k in _STREAM_FIELDS if before.get(k) != now.get(k)]
    if changed:
        raise UsageError(f"--resume needs the settings of the run it continues; changed: {', '.join(changed)}",
                         out)


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _save_final_model(model: SentenceTransformer, out: Path) -> None:
    """Save into a temporary folder inside ``out``, then move each entry into place."""
    tmp = out / f".final-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    model.save(str(tmp))
    for entry in tmp.iterdir():
        target = out / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(entry, target)
    tmp.rmdir()


def _load_model(name: str | None, device: str | None) -> tuple[SentenceTransformer, str]:
    from hybrid_plugin.models import load_model, resolve_model

    resolved = resolve_model(name)
    return load_model(resolved, device=device), resolved


def train(
    settings: TrainingSettings,
    *,
    evaluator: Any | None = None,
    eval_steps: int | None = None,
    callbacks: Sequence[Any] = (),
    qa: ParallelQA | None = None,
) -> TrainingResult:
    """Train a retriever with hybrid batches; write the model, checkpoints and ``training.json`` to ``settings.out``.

    Args:
        settings (TrainingSettings): the run.
        evaluator (optional): a sentence-transformers evaluator (e.g.
            :class:`~hybrid_plugin.evaluation.MultilingualRetrievalEvaluator`) run every ``eval_steps`` steps.
        eval_steps (int, optional): Defaults to None (with an evaluator: at the end of each epoch).
        callbacks (Sequence[TrainerCallback]): more trainer callbacks.
        qa (ParallelQA, optional): the training collection, if already loaded (else read from ``settings.train``).

    Returns:
        TrainingResult: the output folder and the report written to ``training.json``.

    Example::

        from hybrid_plugin.training import TrainingSettings, train

        result = train(TrainingSettings(train="xquad-r", data="../shared/data/xquad-r", out="runs/hybrid",
                                        max_steps=20, limit=200, freeze_embeddings=True))
        result.report["sampling"]["realised"]["xx_share"]     # about 0.5
    """
    from accelerate import PartialState
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import (
        CachedMultipleNegativesRankingLoss,
        MultipleNegativesRankingLoss,
    )

    from hybrid_plugin.callback import HybridTrainingCallback
    from hybrid_plugin.data import load_parallel_qa
    from hybrid_plugin.models import model_prompts
    from hybrid_plugin.sampler import HybridBatchSampler

    started = time.time()
    out = Path(settings.out)
    # under torchrun this starts the process group; every process checks the output folder before any changes it,
    # and nothing is written before the data and the model have loaded
    state = PartialState(cpu=settings.device == "cpu")
    world_size, is_main = state.num_processes, state.is_main_process
    resume_from, replace = _check_out(settings)
    state.wait_for_everyone()

    if qa is None:
        qa = load_parallel_qa(settings.train, data=settings.data, languages=settings.languages)
    elif settings.languages is not None:
        qa = qa.select_languages(settings.languages)
    qa = qa.limit(settings.limit)
    dataset = build_training_dataset(qa, hard_negatives=settings.hard_negatives, seed=settings.seed)
    t_data = time.time()

    model, resolved = _load_model(settings.model, settings.device)
    model.max_seq_length = settings.max_seq_length
    frozen = freeze_input_embeddings(model) if settings.freeze_embeddings else 0
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    prompts = model_prompts(model)
    column_prompts = {"anchor": prompts["query"], "positive": prompts["passage"]}
    if settings.hard_negatives:
        column_prompts["negative"] = prompts["passage"]
    column_prompts = {k: v for k, v in column_prompts.items() if v}
    if is_main:  # the inputs are good: now the output folder may change
        if replace:
            shutil.rmtree(out)
        out.mkdir(parents=True, exist_ok=True)
        _write_json(out / "run.json", {"settings": settings.to_json(), "started": started})
    state.wait_for_everyone()

    gather = world_size > 1
    if settings.loss == "cached-mnrl":
        loss = CachedMultipleNegativesRankingLoss(model, scale=settings.scale, mini_batch_size=settings.mini_batch_size,
                                                  gather_across_devices=gather)
    else:
        loss = MultipleNegativesRankingLoss(model, scale=settings.scale, gather_across_devices=gather)

    args = SentenceTransformerTrainingArguments(
        output_dir=str(out / "checkpoints"),
        per_device_train_batch_size=settings.batch_size,
        learning_rate=settings.lr,
        weight_decay=settings.weight_decay,
        warmup_steps=settings.warmup_ratio,
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps if settings.max_steps is not None else -1,
        optim="adamw_torch",
        lr_scheduler_type="linear",
        seed=settings.seed,
        logging_steps=settings.logging_steps,
        logging_first_step=True,
        # a checkpoint every save_steps, else one after the last step (so that --resume can extend a run)
        save_strategy="epoch" if settings.save_steps is None and settings.max_steps is None else "steps",
        save_steps=settings.save_steps or settings.max_steps or 500,
        save_total_limit=settings.save_total_limit,
        eval_strategy="no" if evaluator is None else ("steps" if eval_steps else "epoch"),
        eval_steps=eval_steps,
        batch_sampler=HybridBatchSampler.configure(
            alpha=settings.effective_alpha, language_weights=settings.language_weights, xy_mode=settings.xy_mode,
            mixing=settings.mixing),
        prompts=column_prompts or None,
        report_to="none",
        use_cpu=settings.device == "cpu",
        dataloader_pin_memory=model.device.type == "cuda",  # pinning without a GPU only warns
        disable_tqdm=not is_main,
        save_only_model=False,
    )
    callback = HybridTrainingCallback(settings.alpha_schedule)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=loss,
                                         evaluator=evaluator, callbacks=[callback, *callbacks])
    t_setup = time.time()
    logger.info("training %s on %d pairs (%d items, %d languages): sampling %s, alpha %.2f, batch %d x %d "
                "process(es), %s steps", resolved, len(dataset), len(qa.qids), len(qa.languages), settings.sampling,
                settings.effective_alpha, settings.batch_size, world_size,
                settings.max_steps if settings.max_steps is not None else f"{settings.epochs:g} epoch(s) of")
    output = trainer.train(resume_from_checkpoint=resume_from)
    t_train = time.time()

    sampler = callback.sampler
    losses = [{"step": e["step"], "loss": e["loss"]} for e in trainer.state.log_history if "loss" in e]
    report = {
        "settings": settings.to_json(),
        "model": {"base": settings.model or "default", "resolved": resolved, "trainable_parameters": trainable,
                  "frozen_embedding_parameters": frozen, "prompts": column_prompts},
        "data": {"name": qa.name, "checksum": qa.checksum, "items": len(qa.qids), "languages": list(qa.languages),
                 "pairs": len(dataset)},
        "sampling": {"sampler": sampler.describe() if sampler is not None else None,
                     "realised": callback.summary()},
        "losses": losses,
        "final_loss": losses[-1]["loss"] if losses else None,
        "global_step": trainer.state.global_step,
        "world_size": world_size,
        "resumed_from": resume_from,
        "timings": {
            "data_s": round(t_data - started, 3),
            "setup_s": round(t_setup - t_data, 3),
            "train_s": round(t_train - t_setup, 3),
            "train_runtime_s": output.metrics.get("train_runtime"),
            "seconds_per_step": round((t_train - t_setup) / max(1, trainer.state.global_step - callback.first_step),
                                      4),
            "sampler_plan_s": round(sampler.plan_seconds, 4) if sampler is not None else None,
        },
        "versions": package_versions(
            ("hybrid-plugin", "torch", "sentence-transformers", "transformers", "datasets", "accelerate")),
    }
    if evaluator is not None:
        report["evaluation"] = [e for e in trainer.state.log_history if any(k.startswith("eval_") for k in e)]
    state.wait_for_everyone()
    if is_main:
        _save_final_model(model, out)
        report["timings"]["total_s"] = round(time.time() - started, 3)
        _write_json(out / "training.json", report)
    return TrainingResult(out=out, report=report)
