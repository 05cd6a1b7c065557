"""The parts of one sentence-transformers training run, shared by :func:`~hybrid_plugin.training.train` and the
domain adaptations (:func:`~hybrid_plugin.adaptation.denoising.adapt_with_denoising` runs the same steps with a
second dataset and loss).

In the order a run uses them: :func:`training_data` (the collection cut as the settings say, and its rows),
:func:`check_batches` (the sampler planned once, before any output changes), :func:`load_training_model`
(:class:`LoadedModel`: frozen embeddings, prompts per column), :func:`build_loss`, :func:`trainer_arguments`,
:func:`run_trainer` (with :class:`NoStepPastTheEnd` and :class:`LossOnTheBar`), :func:`training_report` and
:func:`training_timings` (``training.json``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers.trainer_callback import ProgressCallback, TrainerCallback
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainingArguments
from sentence_transformers.sentence_transformer.losses import (
    CachedMultipleNegativesRankingLoss,
    MultipleNegativesRankingLoss,
)

from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.data.splits import split_items
from hybrid_plugin.debias.module import freeze_projections
from hybrid_plugin.errors import UsageError
from hybrid_plugin.models.loading import check_max_seq_length, load_model, model_prompts
from hybrid_plugin.sampling.callback import HybridTrainingCallback
from hybrid_plugin.sampling.sampler import HybridBatchSampler
from hybrid_plugin.training.dataset import build_training_dataset
from hybrid_plugin.training.run_folder import CHECKPOINTS
from hybrid_plugin.training.settings import TrainingSettings

__all__ = [
    "LoadedModel",
    "LossOnTheBar",
    "NoStepPastTheEnd",
    "build_loss",
    "check_batches",
    "freeze_input_embeddings",
    "load_training_model",
    "run_trainer",
    "sampler_options",
    "trainer_arguments",
    "training_data",
    "training_report",
    "training_timings",
]

logger = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    """The loaded base model and what ``training.json`` says about it."""

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


def sampler_options(settings: TrainingSettings) -> dict[str, Any]:
    """The sampler's keyword arguments for ``settings``."""
    return {"alpha": settings.effective_alpha, "language_weights": settings.language_weights,
            "temperature": settings.language_temperature,
            "xy_mode": settings.xy_mode, "mixing": settings.mixing}


def training_data(settings: TrainingSettings, qa: ParallelQA | None) -> tuple[ParallelQA, Any]:
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


def check_batches(settings: TrainingSettings, qa: ParallelQA, dataset: Any, callback: HybridTrainingCallback,
                  world_size: int) -> None:
    """Whether the data can be batched as the settings ask: the sampler the trainer will build, built once here
    and its first epoch planned (a batch larger than the data, languages that cannot fill a batch, X-Y batches
    from one language are errors now, before the output folder is touched)."""
    if settings.sampling != "xx" and len(qa.languages) < 2:
        raise UsageError(f"--sampling {settings.sampling} needs X-Y batches, which need two languages; {qa.name} has "
                         f"only {', '.join(qa.languages) or 'none'}")
    sampler = HybridBatchSampler(dataset, settings.batch_size, num_replicas=world_size, seed=settings.seed,
                                 **sampler_options(settings))
    schedule = settings.alpha_schedule
    if schedule is not None and not callable(schedule):  # its first and last alpha (a function is the caller's)
        for epoch in (0, 1):
            sampler.set_alpha(callback.alpha_for_epoch(epoch, 2))  # type: ignore[arg-type]
        sampler.set_alpha(settings.effective_alpha)
    sampler.plan(0)


def load_training_model(settings: TrainingSettings, resolved: str) -> LoadedModel:
    """The model at ``resolved`` made ready to train: sequence length checked, token embeddings frozen if asked, a
    language-bias projection kept fixed, the prompt of each training column."""
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
    return LoadedModel(model, resolved, frozen, trainable, {k: v for k, v in column_prompts.items() if v})


# ---------------------------------------------------------------------------------------------------- the run


def build_loss(settings: TrainingSettings, model: SentenceTransformer, world_size: int) -> Any:
    """``MultipleNegativesRankingLoss`` at the settings' scale, or its cached (GradCache) variant; gathered across
    processes when there are several."""
    gather = world_size > 1
    if settings.loss == "cached-mnrl":
        return CachedMultipleNegativesRankingLoss(model, scale=settings.scale, mini_batch_size=settings.mini_batch_size,
                                                  gather_across_devices=gather)
    return MultipleNegativesRankingLoss(model, scale=settings.scale, gather_across_devices=gather)


class LossOnTheBar(ProgressCallback):
    """transformers' progress bar with the latest loss shown on it, instead of a raw log line every
    ``logging_steps`` (every logged value is in ``training.json``, and at debug level in the log)."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and self.training_bar is not None and logs and "loss" in logs:
            self.training_bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)
        logger.debug("step %d: %s", state.global_step, logs)


class _AlreadyDone(Exception):
    """A run resumed from the checkpoint of its last step: nothing is left to train."""


class NoStepPastTheEnd(TrainerCallback):
    """Stops a run resumed at its last step before the step transformers would still take (it checks for the end
    only after a step): an interrupt during the final save then resumes to the model of a run never interrupted."""

    def on_step_begin(self, args, state, control, **kwargs):
        if 0 < state.max_steps <= state.global_step:
            raise _AlreadyDone


def run_trainer(trainer: Any, resume_from: str | None) -> Any:
    """``trainer.train``; None when the checkpoint resumed from ends the run (its state and weights are loaded)."""
    try:
        return trainer.train(resume_from_checkpoint=resume_from)
    except _AlreadyDone:
        trainer.callback_handler.on_train_end(trainer.args, trainer.state, trainer.control)
        return None


def trainer_arguments(settings: TrainingSettings, folder: Path, base: LoadedModel, evaluate: bool,
                      eval_steps: int | None, is_main: bool, **overrides: Any) -> SentenceTransformerTrainingArguments:
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
        batch_sampler=HybridBatchSampler.configure(**sampler_options(settings)),
        prompts=base.prompts or None,
        report_to="none",
        use_cpu=settings.device == "cpu",
        dataloader_pin_memory=base.model.device.type == "cuda",  # pinning without a GPU only warns
        disable_tqdm=not is_main,
        save_only_model=False,
    )
    return SentenceTransformerTrainingArguments(**{**options, **overrides})


def training_report(settings: TrainingSettings, qa: ParallelQA, dataset: Any, base: LoadedModel, trainer: Any,
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


def training_timings(marks: dict[str, float], output: Any, trainer: Any,
                     callback: HybridTrainingCallback) -> dict[str, Any]:
    """``training.json``'s timings from the time marks ``started``, ``data``, ``setup`` and ``train``."""
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
