"""Domain adaptation (c) of issue #16: TSDAE on unlabeled target-domain text, mixed step by step with hybrid batches.

:func:`adapt_with_denoising` continues training a model (e.g. a trained hybrid model folder) on two objectives in
one run of sentence-transformers' trainer, with its own multi-dataset machinery (a ``DatasetDict``, a dict of
losses, per-dataset prompts and a multi-dataset batch sampler):

* ``"hybrid"`` -- the rows of ``settings.train`` batched by :class:`~hybrid_plugin.sampling.HybridBatchSampler`,
  ``MultipleNegativesRankingLoss`` at ``settings.scale`` (as :func:`~hybrid_plugin.training.train`);
* ``"denoising"`` -- TSDAE (Wang, Reimers & Gurevych, 2021): each target-domain sentence with 60 % of its words
  deleted (:func:`delete_words`, seeded), encoded with the passage prompt, and sentence-transformers'
  ``DenoisingAutoEncoderLoss(model, tie_encoder_decoder=True)`` reconstructing the original sentence from the
  embedding alone, through a decoder (``AutoModelForCausalLM`` of the same folder, with cross-attention) whose
  weights are the encoder's.

:class:`DenoisingStepMixer` decides which steps are TSDAE steps: ``floor(k * share)`` of the first ``k`` steps of
every epoch (``share=0.5`` alternates, hybrid first); an epoch holds every hybrid batch of the sampler's epoch,
the TSDAE batches cycle through reshuffled passes over the texts. The saved model is the encoder alone (the
decoder lives in the loss and is dropped).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from accelerate import PartialState
from datasets import Dataset, DatasetDict
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
from sentence_transformers.base.sampler import DefaultBatchSampler
from sentence_transformers.sentence_transformer.losses import DenoisingAutoEncoderLoss
from torch.utils.data import RandomSampler
from transformers import set_seed
from transformers.trainer_callback import ProgressCallback

from hybrid_plugin.adaptation.step_mixer import DenoisingStepMixer, check_share
from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.debias.module import freeze_projections
from hybrid_plugin.errors import UsageError, library_os_errors
from hybrid_plugin.models.loading import check_device, model_prompts, resolve_model
from hybrid_plugin.provenance import package_versions
from hybrid_plugin.sampling.callback import HybridTrainingCallback
from hybrid_plugin.sampling.metadata import METADATA_COLUMNS
from hybrid_plugin.training.run_folder import REPORT_FILE, plan_run_folder, run_folder, save_final_model, write_json
from hybrid_plugin.training.run_parts import (
    LoadedModel,
    LossOnTheBar,
    NoStepPastTheEnd,
    build_loss,
    check_batches,
    freeze_input_embeddings,
    load_training_model,
    run_trainer,
    trainer_arguments,
    training_data,
    training_report,
    training_timings,
)
from hybrid_plugin.training.settings import TrainingSettings
from hybrid_plugin.training.trainer import TrainingResult

__all__ = ["adapt_with_denoising", "build_denoising_dataset", "delete_words"]

logger = logging.getLogger(__name__)

HYBRID, DENOISING = "hybrid", "denoising"
"""The two datasets' (and losses') names in the trainer's ``DatasetDict``."""
DAMAGED, ORIGINAL = "damaged", "original"
"""The TSDAE rows' columns: the encoder reads the damaged sentence, the decoder rebuilds the original."""


def delete_words(text: str, ratio: float, rng: np.random.Generator) -> str:
    """TSDAE's noise: each whitespace-separated word deleted with probability ``ratio``, at least one kept.

    sentence-transformers' ``DenoisingAutoEncoderDataset.delete`` does the same over NLTK's English word
    tokenizer; whitespace words serve every language that separates words with spaces (a sentence without spaces,
    e.g. Chinese or Thai, is one word and stays whole).

    Args:
        text (str): the sentence.
        ratio (float): deletion probability per word, in [0, 1).
        rng (numpy.random.Generator): the randomness (one per run: the same seed gives the same damage).

    Returns:
        str: the kept words joined by single spaces.

    Example::

        >>> delete_words("the cat sat on the mat", 0.6, np.random.default_rng(0))
        'the the mat'
    """
    words = text.split()
    if not words:
        return text
    keep = rng.random(len(words)) >= ratio
    if not keep.any():
        keep[rng.integers(len(words))] = True
    return " ".join(word for word, kept in zip(words, keep) if kept)


def build_denoising_dataset(texts: Sequence[str], deletion_ratio: float = 0.6, seed: int = 0) -> Dataset:
    """TSDAE rows: ``damaged`` (:func:`delete_words`, seeded) and ``original``, one row per text, in order.

    Args:
        texts (Sequence[str]): non-empty sentences.
        deletion_ratio (float): see :func:`delete_words`. Defaults to 0.6 (the TSDAE paper's).
        seed (int): seed of the deletions. Defaults to 0.

    Returns:
        datasets.Dataset: columns ``damaged``, ``original`` (the loss reads them in this order).

    Example::

        >>> build_denoising_dataset(["the cat sat on the mat"], seed=0)[0]
        {'damaged': 'the the mat', 'original': 'the cat sat on the mat'}
    """
    rng = np.random.default_rng(seed)
    return Dataset.from_dict({DAMAGED: [delete_words(t, deletion_ratio, rng) for t in texts], ORIGINAL: list(texts)})


class _MixedTrainer(SentenceTransformerTrainer):
    """The trainer with three changes for the two objectives: the TSDAE rows get a plain shuffled batch sampler
    of their own batch size, the hybrid rows keep their metadata hidden when the dataset name is added, and every
    step's loss is kept per objective."""

    def __init__(self, *args: Any, denoising_batch_size: int, **kwargs: Any) -> None:
        self.denoising_batch_size = denoising_batch_size
        self.objective_losses: list[dict[str, Any]] = []
        self.objective_steps: dict[str, int] = defaultdict(int)
        super().__init__(*args, **kwargs)

    def get_batch_sampler(self, dataset: Any, batch_size: int, drop_last: bool, valid_label_columns: Any = None,
                          generator: Any = None, seed: int = 0) -> Any:
        if DAMAGED in dataset.column_names:
            return DefaultBatchSampler(RandomSampler(dataset, generator=generator),
                                       batch_size=self.denoising_batch_size, drop_last=True,
                                       valid_label_columns=valid_label_columns, generator=generator, seed=seed)
        return super().get_batch_sampler(dataset, batch_size, drop_last, valid_label_columns, generator, seed)

    def add_dataset_name_column(self, dataset: Any, dataset_name: str | None = None) -> Any:
        if isinstance(dataset, Dataset) and dataset_name is not None:  # ST's own would show the hidden metadata
            visible = [c for c in dataset.column_names if c not in METADATA_COLUMNS]
            dataset.set_transform(functools.partial(self.add_dataset_name_transform, dataset_name=dataset_name),
                                  columns=visible)
            return dataset
        return super().add_dataset_name_column(dataset, dataset_name)

    def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        name = inputs.get("dataset_name")
        result = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if model.training and name is not None:
            loss = result[0] if return_outputs else result
            self.objective_steps[name] += 1
            self.objective_losses.append({"step": self.state.global_step + 1, "objective": name,
                                          "loss": round(float(loss.detach()), 6)})
        return result


# ---------------------------------------------------------------------------------------------------- checks


def _check_options(settings: TrainingSettings, texts: Any, share: Any, deletion_ratio: Any,
                   denoising_batch_size: Any) -> tuple[list[str], int]:
    """The non-empty texts (stripped) and the TSDAE batch size; a UsageError for anything else."""
    check_share(share)
    number = isinstance(deletion_ratio, (int, float)) and not isinstance(deletion_ratio, bool)
    if not number or not 0.0 <= float(deletion_ratio) < 1.0:
        raise UsageError(f"deletion_ratio must be a number in [0, 1), got {deletion_ratio!r}")
    size = settings.batch_size if denoising_batch_size is None else denoising_batch_size
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise UsageError(f"denoising_batch_size must be a positive integer, got {denoising_batch_size!r}")
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
        raise UsageError(f"texts must be a sequence of sentences, got {type(texts).__name__}")
    if not texts:
        raise UsageError("texts is empty: TSDAE needs target-domain sentences")
    wrong = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if wrong is not None:
        raise UsageError(f"texts[{wrong}] must be a string, got {type(texts[wrong]).__name__}")
    kept = [t.strip() for t in texts if t.strip()]
    if not kept:
        raise UsageError(f"texts holds {len(texts)} sentences, all empty: TSDAE needs target-domain sentences")
    if settings.resume:
        raise UsageError("adapt_with_denoising does not resume a run (the checkpoints keep the encoder, not the "
                         "decoder); pass overwrite=True to run it again")
    return kept, size


def _denoising_loss(model: SentenceTransformer, base: LoadedModel, settings: TrainingSettings) -> Any:
    """``DenoisingAutoEncoderLoss`` with the decoder tied to the encoder (seeded: the decoder's own weights start
    random); the frozen weights frozen again (tying replaces the encoder's parameters by the decoder's)."""
    set_seed(settings.seed)  # the decoder's own weights (cross-attention, LM-head transform) start random
    try:
        loss = DenoisingAutoEncoderLoss(model, tie_encoder_decoder=True)
    except (OSError, ValueError, AssertionError, AttributeError) as exc:
        raise UsageError(f"{base.resolved}: its transformer cannot be built as a tied TSDAE decoder "
                         f"(AutoModelForCausalLM with cross-attention): {exc}".replace("\n", " ")) from None
    if settings.freeze_embeddings:
        freeze_input_embeddings(model)
    freeze_projections(model)
    return loss


def _checksum(texts: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(list(texts), ensure_ascii=False).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------------- the run


def _prompts(base: LoadedModel, model: SentenceTransformer) -> dict[str, dict[str, str]] | None:
    """Per-dataset prompts: the hybrid columns' (query / passage) and the passage prompt on the damaged sentence
    (the decoder's target, the original, is not encoded)."""
    passage = model_prompts(model)["passage"]
    nested = {HYBRID: dict(base.prompts), DENOISING: {DAMAGED: passage} if passage else {}}
    return nested if any(nested.values()) else None


def _denoising_report(trainer: _MixedTrainer, texts: list[str], dropped: int, share: float, deletion_ratio: float,
                      batch_size: int, model: SentenceTransformer, loss: Any) -> dict[str, Any]:
    encoder = {id(p) for p in model.parameters()}
    decoder_only = sum(p.numel() for p in {id(p): p for p in loss.decoder.parameters()}.values()
                       if id(p) not in encoder and p.requires_grad)
    return {
        "texts": len(texts), "empty_texts_dropped": dropped, "texts_checksum": _checksum(texts),
        "deletion_ratio": deletion_ratio, "share": share, "batch_size": batch_size,
        "noise": "whitespace word deletion (delete_words), seeded with settings.seed",
        "decoder": {"name_or_path": loss.decoder.config._name_or_path, "class": type(loss.decoder).__name__,
                    "tied_to_encoder": True, "decoder_only_trainable_parameters": decoder_only},
        "steps": {HYBRID: trainer.objective_steps.get(HYBRID, 0), DENOISING: trainer.objective_steps.get(DENOISING, 0)},
        "losses": trainer.objective_losses,
    }


def _final_losses(losses: list[dict[str, Any]]) -> dict[str, float | None]:
    last: dict[str, float | None] = {HYBRID: None, DENOISING: None}
    for entry in losses:
        last[entry["objective"]] = entry["loss"]
    return last


def adapt_with_denoising(settings: TrainingSettings, texts: Sequence[str], *, share: float = 0.5,
                         deletion_ratio: float = 0.6, denoising_batch_size: int | None = None,
                         qa: ParallelQA | None = None) -> TrainingResult:
    """Continue training ``settings.model`` on hybrid batches of ``settings.train`` mixed with TSDAE batches of
    ``texts`` (unlabeled target-domain sentences); write the model and ``training.json`` to ``settings.out``.

    The folder is laid out as :func:`~hybrid_plugin.training.train`'s (the model, ``run.json``,
    ``training.json``; no checkpoint is kept: the run does not resume). ``training.json`` holds ``train``'s report
    (``losses`` mix both objectives; ``sampling.realised`` counts the hybrid batches only) and ``denoising``: the
    texts' count and checksum, ``deletion_ratio``, ``share``, each objective's ``steps`` and per-step ``losses``.

    Args:
        settings (TrainingSettings): the hybrid side and the run (model, steps, lr, seed, out, ...).
        texts (Sequence[str]): target-domain sentences (empty ones are dropped).
        share (float): share of the steps that are TSDAE steps, in (0, 1). Defaults to 0.5 (alternate).
        deletion_ratio (float): share of words deleted, in [0, 1). Defaults to 0.6 (the TSDAE paper's).
        denoising_batch_size (int, optional): sentences per TSDAE batch. Defaults to None (``settings.batch_size``).
        qa (ParallelQA, optional): the training collection, if already loaded.

    Returns:
        TrainingResult: the output folder and the report written to ``training.json``.

    Raises:
        UsageError, DataError: an option, the texts, the output folder, the device, the model (no tied decoder can
            be built from it) or the data cannot be used; raised before the output folder is changed.

    Example::

        from hybrid_plugin.adaptation.denoising import adapt_with_denoising
        from hybrid_plugin.data.loading import load_parallel_qa
        from hybrid_plugin.training import TrainingSettings

        news = load_parallel_qa("ntrex-128", data="../shared/data/ntrex-128", languages=["en", "de"])
        texts = [t for lang in news.languages for t in news.questions[lang].values()]
        result = adapt_with_denoising(TrainingSettings(train="mlqa-r", data="../shared/data/mlqa-r",
                                                       out="runs/tsdae", model="runs/hybrid", max_steps=20,
                                                       limit=200, batch_size=16), texts, denoising_batch_size=8)
        result.report["denoising"]["steps"]     # {'hybrid': 10, 'denoising': 10}
    """
    marks = {"started": time.time()}
    kept, size = _check_options(settings, texts, share, deletion_ratio, denoising_batch_size)
    check_device(settings.device)
    state = PartialState(cpu=settings.device == "cpu")
    if len(kept) < size * state.num_processes:
        raise UsageError(f"texts holds {len(kept)} non-empty sentences, fewer than one TSDAE batch of "
                         f"{size * state.num_processes} (denoising_batch_size {size} x {state.num_processes} "
                         "processes)")
    plan = plan_run_folder(settings)
    callback = HybridTrainingCallback(settings.alpha_schedule)
    qa, rows = training_data(settings, qa)
    check_batches(settings, qa, rows, callback, state.num_processes)
    datasets = DatasetDict({HYBRID: rows, DENOISING: build_denoising_dataset(kept, deletion_ratio, settings.seed)})
    marks["data"] = time.time()
    base = load_training_model(settings, resolve_model(settings.model))
    losses = {HYBRID: build_loss(settings, base.model, state.num_processes),
              DENOISING: _denoising_loss(base.model, base, settings)}
    state.wait_for_everyone()
    run_info = {"settings": settings.to_json(), "started": marks["started"]}
    with run_folder(settings, plan, state, run_info) as folder, library_os_errors(settings.out):
        report = _run(settings, folder, base, qa, datasets, losses, (float(share), size), callback, state, marks)
        report["denoising"] = _denoising_report(report.pop("_trainer"), kept, len(texts) - len(kept), float(share),
                                                float(deletion_ratio), size, base.model, losses[DENOISING])
        report["final_losses"] = _final_losses(report["denoising"]["losses"])
        state.wait_for_everyone()
        if state.is_main_process:
            save_final_model(base.model, folder)
            report["timings"]["total_s"] = round(time.time() - marks["started"], 3)
            write_json(folder / REPORT_FILE, report)
    return TrainingResult(out=Path(settings.out), report=report)


def _run(settings: TrainingSettings, folder: Path, base: LoadedModel, qa: ParallelQA, datasets: DatasetDict,
         losses: dict[str, Any], mixing: tuple[float, int], callback: HybridTrainingCallback, state: PartialState,
         marks: dict[str, float]) -> dict[str, Any]:
    """The trainer's run: ``train``'s report (with its timings) and the trainer under ``"_trainer"``."""
    share, size = mixing
    args = trainer_arguments(settings, folder, base, False, None, state.is_main_process, save_strategy="no",
                      prompts=_prompts(base, base.model),
                      multi_dataset_batch_sampler=functools.partial(DenoisingStepMixer, share=share))
    trainer = _MixedTrainer(model=base.model, args=args, train_dataset=datasets, loss=losses,
                            callbacks=[callback, NoStepPastTheEnd()], denoising_batch_size=size)
    if trainer.pop_callback(ProgressCallback) is not None:
        trainer.add_callback(LossOnTheBar())
    marks["setup"] = time.time()
    logger.info("adapting %s: %d hybrid rows and %d TSDAE texts, TSDAE share %.2f, batches %d + %d, %s steps",
                base.resolved, len(datasets[HYBRID]), len(datasets[DENOISING]), share, settings.batch_size, size,
                settings.max_steps if settings.max_steps is not None else f"{settings.epochs:g} epoch(s) of")
    output = run_trainer(trainer, None)
    marks["train"] = time.time()
    report = training_report(settings, qa, datasets[HYBRID], base, trainer, callback, state.num_processes,
                     None)
    report["timings"] = training_timings(marks, output, trainer, callback)
    report["versions"] = package_versions(
        ("hybrid-plugin", "torch", "sentence-transformers", "transformers", "datasets", "accelerate"))
    report["_trainer"] = trainer
    return report
