"""One training run: :func:`train` (the ``hybrid-plugin train`` job) and :class:`TrainingResult`.

:func:`train` runs sentence-transformers' trainer with :class:`~hybrid_plugin.sampling.HybridBatchSampler`,
:class:`~hybrid_plugin.sampling.HybridTrainingCallback` and ``MultipleNegativesRankingLoss`` (or its cached
variant) and writes a normal sentence-transformers folder plus ``training.json``. Everything that can be checked
is checked before the output folder is touched: the settings (when they were made), the device, the output folder
(:mod:`hybrid_plugin.training.run_folder`), the data and whether it can be batched, the model. The steps it takes
live in :mod:`hybrid_plugin.training.run_parts`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accelerate import PartialState
from transformers.trainer_callback import ProgressCallback
from sentence_transformers import SentenceTransformerTrainer

from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.errors import library_os_errors
from hybrid_plugin.models.loading import check_device, resolve_model
from hybrid_plugin.provenance import package_versions
from hybrid_plugin.sampling.callback import HybridTrainingCallback
from hybrid_plugin.training.run_folder import REPORT_FILE, plan_run_folder, run_folder, save_final_model, write_json
from hybrid_plugin.training.run_parts import (
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

__all__ = ["TrainingResult", "freeze_input_embeddings", "train"]

logger = logging.getLogger(__name__)


@dataclass
class TrainingResult:
    """What :func:`train` returns (and writes, as JSON, to ``out/training.json``)."""

    out: Path
    report: dict[str, Any] = field(default_factory=dict)


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
    qa, dataset = training_data(settings, qa)
    check_batches(settings, qa, dataset, callback, state.num_processes)
    marks["data"] = time.time()
    base = load_training_model(settings, resolved)
    state.wait_for_everyone()
    run_info = {"settings": settings.to_json(), "started": marks["started"]}
    # the inputs are good: now the output may change (a full disk while saving is an OSError, one line)
    with run_folder(settings, plan, state, run_info) as folder, library_os_errors(settings.out):
        args = trainer_arguments(settings, folder, base, evaluator is not None, eval_steps, state.is_main_process)
        trainer = SentenceTransformerTrainer(model=base.model, args=args, train_dataset=dataset,
                                             loss=build_loss(settings, base.model, state.num_processes),
                                             evaluator=evaluator,
                                             callbacks=[callback, *callbacks, NoStepPastTheEnd()])
        if trainer.pop_callback(ProgressCallback) is not None:
            trainer.add_callback(LossOnTheBar())
        marks["setup"] = time.time()
        logger.info("training %s on %d pairs (%d items, %d languages): sampling %s, alpha %.2f, batch %d x %d "
                    "process(es), %s steps", base.resolved, len(dataset), len(qa.qids), len(qa.languages),
                    settings.sampling, settings.effective_alpha, settings.batch_size, state.num_processes,
                    settings.max_steps if settings.max_steps is not None else f"{settings.epochs:g} epoch(s) of")
        output = run_trainer(trainer, plan.resume_from)
        marks["train"] = time.time()
        report = training_report(settings, qa, dataset, base, trainer, callback, state.num_processes, plan.resume_from)
        report["timings"] = training_timings(marks, output, trainer, callback)
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
