"""One training run: :func:`train` (the ``hybrid-plugin train`` job), :class:`TrainingResult` and
:func:`freeze_input_embeddings`.

:func:`train` runs sentence-transformers' trainer with :class:`~hybrid_plugin.sampling.HybridBatchSampler`,
:class:`~hybrid_plugin.sampling.HybridTrainingCallback` and ``MultipleNegativesRankingLoss`` (or its cached
variant) and writes a normal sentence-transformers folder plus ``training.json``. Everything that can be checked
is checked before the output folder is touched: the settings (when they were made), the device, the output folder
(:mod:`hybrid_plugin.training.run_folder`), the data and whether it can be batched, the model.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accelerate import PartialState
from transformers.trainer_callback import ProgressCallback, TrainerCallback
from sentence_transformers import (
    SentenceTransformer,
    SentenceTransformerTrainer,
    SentenceTransformerTrainingArguments,
)
from sentence_transformers.sentence_transformer.losses import (
    CachedMultipleNegativesRankingLoss,
    MultipleNegativesRankingLoss,
)

from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.data.splits import split_items
from hybrid_plugin.debias.module import freeze_projections
from hybrid_plugin.errors import UsageError, library_os_errors
from hybrid_plugin.models.loading import (
    check_device,
    check_max_seq_length,
    load_model,
    model_prompts,
    resolve_model,
)
from hybrid_plugin.provenance import package_versions
from hybrid_plugin.sampling.callback import HybridTrainingCallback
from hybrid_plugin.sampling.sampler import HybridBatchSampler
from hybrid_plugin.training.dataset import build_training_dataset
from hybrid_plugin.training.run_folder import (
    CHECKPOINTS,
    REPORT_FILE,
    plan_run_folder,
    run_folder,
    save_final_model,
    write_json,
)
from hybrid_plugin.training.settings import TrainingSettings

__all__ = ["TrainingResult", "freeze_input_embeddings", "train"]

logger = logging.getLogger(__name__)


@dataclass
class TrainingResult:
    """What :func:`train` returns (and writes, as JSON, to ``out/training.json``)."""

    out: Path
    report: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Model:
    """The loaded base model and what the report says about it."""

    model: SentenceTransformer
    resolved: str
    frozen: int
    trainable: int
    prompts: dict[str, str]


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


# ---------------------------------------------------------------------------------------------------- checks


def _sampler_options(settings: TrainingSettings) -> dict[str, Any]:
    return {"alpha": settings.effective_alpha, "language_weights": settings.language_weights,
            "temperature": settings.language_temperature,
            "xy_mode": settings.xy_mode, "mixing": settings.mixing}


def _training_data(settings: TrainingSettings, qa: ParallelQA | None) -> tuple[ParallelQA, Any]:
    """The collection (loaded unless given) cut as the settings say -- languages, the train side of the dev
    split, the item limit, in this order -- and its training rows."""
    if qa is None:
        qa = load_parallel_qa(settings.train, data=settings.data, languages=settings.languages)
    elif settings.languages is not None:
        qa = qa.select_languages(settings.languages)
    if settings.dev_fraction is not None:
        qa = split_items(qa, settings.dev_fraction, seed=settings.dev_seed).train
    qa = qa.limit(settings.limit)
    return qa, build_training_dataset(qa, hard_negatives=settings.hard_negatives, seed=settings.seed)


def _check_batches(settings: TrainingSettings, qa: ParallelQA, dataset: Any, callback: HybridTrainingCallback,
                   world_size: int) -> None:
    """Whether the data can be batched as the settings ask: the sampler the trainer will build, built once here
    and its first epoch planned (a batch larger than the data, languages that cannot fill a batch, X-Y batches
    from one language are errors now, before the output folder is touched)."""
    if settings.sampling != "xx" and len(qa.languages) < 2:
        raise UsageError(f"--sampling {settings.sampling} needs X-Y batches, which need two languages; {qa.name} has "
                         f"only {', '.join(qa.languages) or 'none'}")
    sampler = HybridBatchSampler(dataset, settings.batch_size, num_replicas=world_size, seed=settings.seed,
                                 **_sampler_options(settings))
    schedule = settings.alpha_schedule
    if schedule is not None and not callable(schedule):  # its first and last alpha (a function is the caller's)
        for epoch in (0, 1):
            sampler.set_alpha(callback.alpha_for_epoch(epoch, 2))  # type: ignore[arg-type]
        sampler.set_alpha(settings.effective_alpha)
    sampler.plan(0)


def _load_model(settings: TrainingSettings, resolved: str) -> _Model:
    model = load_model(resolved, device=settings.device)
    model.max_seq_length = check_max_seq_length(model, settings.max_seq_length)
    frozen = freeze_input_embeddings(model) if settings.freeze_embeddings else 0
    if freeze_projections(model):  # a language-bias projection (debias --into-model) is a fitted map, not learnt
        logger.info("the model's language-bias projection stays fixed in training")
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    prompts = model_prompts(model)
    column_prompts = {"anchor": prompts["query"], "positive": prompts["passage"]}
    if settings.hard_negatives:
        column_prompts["negative"] = prompts["passage"]
    return _Model(model, resolved, frozen, trainable, {k: v for k, v in column_prompts.items() if v})


# ---------------------------------------------------------------------------------------------------- the run


def _loss(settings: TrainingSettings, model: SentenceTransformer, world_size: int) -> Any:
    gather = world_size > 1
    if settings.loss == "cached-mnrl":
        return CachedMultipleNegativesRankingLoss(model, scale=settings.scale, mini_batch_size=settings.mini_batch_size,
                                                  gather_across_devices=gather)
    return MultipleNegativesRankingLoss(model, scale=settings.scale, gather_across_devices=gather)


class _LossOnTheBar(ProgressCallback):
    """transformers' progress bar with the latest loss shown on it, instead of a raw log line every
    ``logging_steps`` (every logged value is in ``training.json``, and at debug level in the log)."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and self.training_bar is not None and logs and "loss" in logs:
            self.training_bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)
        logger.debug("step %d: %s", state.global_step, logs)


class _AlreadyDone(Exception):
    """A run resumed from the checkpoint of its last step: nothing is left to train."""


class _NoStepPastTheEnd(TrainerCallback):
    """Stops a run resumed at its last step before the step transformers would still take (it checks for the end
    only after a step): an interrupt during the final save then resumes to the model of a run never interrupted."""

    def on_step_begin(self, args, state, control, **kwargs):
        if 0 < state.max_steps <= state.global_step:
            raise _AlreadyDone


def _train(trainer: Any, resume_from: str | None) -> Any:
    """``trainer.train``; None when the checkpoint resumed from ends the run (its state and weights are loaded)."""
    try:
        return trainer.train(resume_from_checkpoint=resume_from)
    except _AlreadyDone:
        trainer.callback_handler.on_train_end(trainer.args, trainer.state, trainer.control)
        return None


def _arguments(settings: TrainingSettings, folder: Path, base: _Model, evaluate: bool, eval_steps: int | None,
               is_main: bool, **overrides: Any) -> SentenceTransformerTrainingArguments:
    """The trainer's arguments for ``settings``; ``overrides`` replace any of them (e.g. the multi-dataset batch
    sampler and per-dataset prompts of :func:`hybrid_plugin.adaptation.denoising.adapt_with_denoising`)."""
    options: dict[str, Any] = dict(
        output_dir=str(folder / CHECKPOINTS),
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
        eval_strategy="no" if not evaluate else ("steps" if eval_steps else "epoch"),
        eval_steps=eval_steps,
        batch_sampler=HybridBatchSampler.configure(**_sampler_options(settings)),
        prompts=base.prompts or None,
        report_to="none",
        use_cpu=settings.device == "cpu",
        dataloader_pin_memory=base.model.device.type == "cuda",  # pinning without a GPU only warns
        disable_tqdm=not is_main,
        save_only_model=False,
    )
    return SentenceTransformerTrainingArguments(**{**options, **overrides})


def _report(settings: TrainingSettings, qa: ParallelQA, dataset: Any, base: _Model, trainer: Any,
            callback: HybridTrainingCallback, world_size: int, resume_from: str | None) -> dict[str, Any]:
    """``training.json`` (without its timings)."""
    sampler = callback.sampler
    losses = [{"step": e["step"], "loss": e["loss"]} for e in trainer.state.log_history if "loss" in e]
    return {
        "settings": settings.to_json(),
        "model": {"base": settings.model or "default", "resolved": base.resolved,
                  "trainable_parameters": base.trainable, "frozen_embedding_parameters": base.frozen,
                  "prompts": base.prompts},
        "data": {"name": qa.name, "checksum": qa.checksum, "items": len(qa.qids), "languages": list(qa.languages),
                 "pairs": len(dataset), "split": None if qa.split is None else qa.split.to_dict()},
        "sampling": {"sampler": sampler.describe() if sampler is not None else None,
                     "realised": callback.summary()},
        "losses": losses,
        "final_loss": losses[-1]["loss"] if losses else None,
        "global_step": trainer.state.global_step,
        "world_size": world_size,
        "resumed_from": resume_from,
    }


def _timings(marks: dict[str, float], output: Any, trainer: Any, callback: HybridTrainingCallback) -> dict[str, Any]:
    sampler = callback.sampler
    steps = max(1, trainer.state.global_step - callback.first_step)
    return {
        "data_s": round(marks["data"] - marks["started"], 3),
        "setup_s": round(marks["setup"] - marks["data"], 3),
        "train_s": round(marks["train"] - marks["setup"], 3),
        "train_runtime_s": output.metrics.get("train_runtime") if output is not None else 0.0,
        "seconds_per_step": round((marks["train"] - marks["setup"]) / steps, 4),
        "sampler_plan_s": round(sampler.plan_seconds, 4) if sampler is not None else None,
    }


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

    Raises:
        UsageError, DataError: an option, the output folder, the device, the model or the data cannot be used;
            raised before the output folder is changed.

    Example::

        from hybrid_plugin.training import TrainingSettings, train

        result = train(TrainingSettings(train="xquad-r", data="../shared/data/xquad-r", out="runs/hybrid",
                                        max_steps=20, limit=200, freeze_embeddings=True))
        result.report["sampling"]["realised"]["xx_share"]     # about 0.5
    """
    marks = {"started": time.time()}
    check_device(settings.device)
    # under torchrun this starts the process group; every process checks the output folder before any changes it
    state = PartialState(cpu=settings.device == "cpu")
    plan = plan_run_folder(settings)
    resolved = resolve_model(settings.model)
    callback = HybridTrainingCallback(settings.alpha_schedule)
    qa, dataset = _training_data(settings, qa)
    _check_batches(settings, qa, dataset, callback, state.num_processes)
    marks["data"] = time.time()
    base = _load_model(settings, resolved)
    state.wait_for_everyone()
    run_info = {"settings": settings.to_json(), "started": marks["started"]}
    # the inputs are good: now the output may change (a full disk while saving is an OSError, one line)
    with run_folder(settings, plan, state, run_info) as folder, library_os_errors(settings.out):
        args = _arguments(settings, folder, base, evaluator is not None, eval_steps, state.is_main_process)
        trainer = SentenceTransformerTrainer(model=base.model, args=args, train_dataset=dataset,
                                             loss=_loss(settings, base.model, state.num_processes),
                                             evaluator=evaluator,
                                             callbacks=[callback, *callbacks, _NoStepPastTheEnd()])
        if trainer.pop_callback(ProgressCallback) is not None:
            trainer.add_callback(_LossOnTheBar())
        marks["setup"] = time.time()
        logger.info("training %s on %d pairs (%d items, %d languages): sampling %s, alpha %.2f, batch %d x %d "
                    "process(es), %s steps", base.resolved, len(dataset), len(qa.qids), len(qa.languages),
                    settings.sampling, settings.effective_alpha, settings.batch_size, state.num_processes,
                    settings.max_steps if settings.max_steps is not None else f"{settings.epochs:g} epoch(s) of")
        output = _train(trainer, plan.resume_from)
        marks["train"] = time.time()
        report = _report(settings, qa, dataset, base, trainer, callback, state.num_processes, plan.resume_from)
        report["timings"] = _timings(marks, output, trainer, callback)
        report["versions"] = package_versions(
            ("hybrid-plugin", "torch", "sentence-transformers", "transformers", "datasets", "accelerate"))
        if evaluator is not None:
            report["evaluation"] = [e for e in trainer.state.log_history if any(k.startswith("eval_") for k in e)]
        state.wait_for_everyone()
        if state.is_main_process:
            save_final_model(base.model, folder)
            report["timings"]["total_s"] = round(time.time() - marks["started"], 3)
            write_json(folder / REPORT_FILE, report)
    return TrainingResult(out=Path(settings.out), report=report)
