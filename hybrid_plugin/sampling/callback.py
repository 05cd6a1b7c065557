"""A trainer callback that reports what the hybrid sampler realised and changes α between epochs."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from transformers.trainer_callback import ExportableState

from hybrid_plugin.errors import UsageError
from hybrid_plugin.sampling.sampler import HybridBatchSampler, find_hybrid_sampler, find_step_mixer

__all__ = ["AlphaSchedule", "HybridTrainingCallback"]

logger = logging.getLogger(__name__)

AlphaSchedule = float | Callable[[int], float] | str | None


def _check_schedule(alpha_schedule: AlphaSchedule, curriculum: tuple[float, float]) -> None:
    allowed = "a number, a function of the epoch, 'curriculum' or None"
    if isinstance(alpha_schedule, bool) or (isinstance(alpha_schedule, str) and alpha_schedule != "curriculum") or (
            alpha_schedule is not None and not isinstance(alpha_schedule, (int, float, str))
            and not callable(alpha_schedule)):
        raise UsageError(f"alpha_schedule must be {allowed}, got {alpha_schedule!r}")
    if isinstance(alpha_schedule, (int, float)) and not 0.0 <= alpha_schedule <= 1.0:
        raise UsageError(f"alpha_schedule must be in [0, 1], got {alpha_schedule}")
    if len(curriculum) != 2 or not all(0.0 <= a <= 1.0 for a in curriculum):
        raise UsageError(f"curriculum must be two values in [0, 1], got {curriculum!r}")


class HybridTrainingCallback(TrainerCallback, ExportableState):
    """Log the realised share of X-X pairs and the pairs per language (pair); optionally schedule α per epoch.

    At every logging step the trainer's logs (``trainer.state.log_history``, and the callbacks after this one)
    get, counted over the pairs that the run has trained on, on all processes together:

    * ``hybrid/alpha`` -- the sampler's current α;
    * ``hybrid/xx_share`` -- the share of X-X pairs (with ``mixing="batch"`` also the share of X-X batches);
    * ``hybrid/pairs`` -- pairs trained on;
    * ``hybrid/xx/<lang>`` and ``hybrid/xy/<q>-<p>`` -- pairs per X-X language and per X-Y (query-passage) pair.

    The counts come from the sampler's plan of each epoch and the trainer's step counter, so they are exact (not
    sampled). Every checkpoint keeps them (the trainer saves :meth:`state` in its ``trainer_state.json``), and a
    run resumed from a checkpoint starts from them, so the statistics cover the whole run; a checkpoint without
    them (another callback wrote it) counts from the resumed step. ``alpha_schedule`` sets α at the start of each
    epoch (the sampler plans an epoch when it starts, so a change takes effect from the next epoch): a number (a
    constant α), a function ``epoch -> α``, or ``"curriculum"`` (linear from ``curriculum[0]`` in the first epoch,
    mono-heavy, to ``curriculum[1]`` in the last, cross-heavy). None leaves α to the sampler.

    The callback also tells the sampler the epoch at each epoch start, which keeps the batch sequence right when a
    multi-process run resumes inside a later epoch (accelerate's skipping wrapper hides ``set_epoch`` there).

    Args:
        alpha_schedule (float | Callable[[int], float] | str, optional): see above. Defaults to None.
        curriculum (tuple[float, float]): first and last α of ``"curriculum"``. Defaults to (0.9, 0.1).
        prefix (str): prefix of the logged keys. Defaults to ``"hybrid"``.

    Example::

        from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
        from hybrid_plugin import HybridBatchSampler, HybridTrainingCallback

        args = SentenceTransformerTrainingArguments("out", num_train_epochs=3,
                                                    batch_sampler=HybridBatchSampler.configure(alpha=0.5))
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=rows, loss=loss,
                                             callbacks=[HybridTrainingCallback("curriculum")])
        trainer.train()
        [e["hybrid/xx_share"] for e in trainer.state.log_history if "hybrid/xx_share" in e]
    """

    def __init__(
        self,
        alpha_schedule: AlphaSchedule = None,
        *,
        curriculum: tuple[float, float] = (0.9, 0.1),
        prefix: str = "hybrid",
    ) -> None:
        _check_schedule(alpha_schedule, curriculum)
        self.alpha_schedule = alpha_schedule
        self.curriculum = (float(curriculum[0]), float(curriculum[1]))
        self.prefix = prefix
        self.sampler: HybridBatchSampler | None = None
        self.first_step = 0
        self.alphas: dict[int, float] = {}
        self._trainer_state: TrainerState | None = None
        self._totals = np.zeros(0, dtype=np.int64)
        self._epoch = 0
        self._counted_until = 0
        self._num_epochs = 1
        self._updates_per_epoch = 1
        self._batches_per_epoch = 1
        self._accumulation = 1
        self._hybrid_steps: Callable[[int], int] | None = None  # a mixer's steps -> hybrid steps among them

    # -- schedule ---------------------------------------------------------------------------------------------
    def alpha_for_epoch(self, epoch: int, num_epochs: int) -> float | None:
        """α for ``epoch`` (0-based) of ``num_epochs``; None when α is left to the sampler."""
        schedule = self.alpha_schedule
        if schedule is None:
            return None
        if schedule == "curriculum":
            first, last = self.curriculum
            if num_epochs <= 1:
                return first
            return first + (last - first) * min(epoch, num_epochs - 1) / (num_epochs - 1)
        if isinstance(schedule, (int, float)):
            return float(schedule)
        alpha = schedule(epoch)  # type: ignore[operator]
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha <= 1.0:
            raise UsageError(f"alpha_schedule({epoch}) returned {alpha!r}; it must return a number in [0, 1]")
        return float(alpha)

    # -- checkpoints ------------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps (transformers' ``ExportableState``): pairs per kind and α per epoch so far."""
        pairs: dict[str, int] = {}
        if self.sampler is not None and self._trainer_state is not None:
            counts, meta = self.counts(self._trainer_state), self.sampler.metadata
            pairs = {meta.kind_name(int(k)): int(counts[k]) for k in np.flatnonzero(counts)}
        args: dict[str, Any] = {"curriculum": list(self.curriculum), "prefix": self.prefix}
        if self.alpha_schedule is None or isinstance(self.alpha_schedule, (int, float, str)):
            args["alpha_schedule"] = self.alpha_schedule  # (a function cannot be written to JSON)
        return {"args": args, "attributes": {"pairs_per_kind": pairs,
                                             "alpha_per_epoch": {str(e): a for e, a in sorted(self.alphas.items())}}}

    def _restore(self, state: TrainerState) -> None:
        """Start from the counts a resumed checkpoint kept (none on a fresh run)."""
        meta = self.sampler.metadata  # type: ignore[union-attr]
        self._totals = np.zeros(meta.num_kinds, dtype=np.int64)
        self.alphas = {}
        saved = (state.stateful_callbacks or {}).get(type(self).__name__) if state.global_step > 0 else None
        if isinstance(saved, list):  # several callbacks of this class: the one with our prefix
            saved = next((s for s in saved if s.get("args", {}).get("prefix") == self.prefix), None)
        attributes = (saved or {}).get("attributes", {})
        kind_of = {meta.kind_name(k): k for k in range(meta.num_kinds)}
        for name, count in attributes.get("pairs_per_kind", {}).items():
            if name not in kind_of:
                raise UsageError(f"the checkpoint counted pairs of {name!r}, which the training set does not have "
                                 f"(languages {list(meta.languages)}); resume with the data it was trained on")
            self._totals[kind_of[name]] = int(count)
        self.alphas = {int(e): float(a) for e, a in attributes.get("alpha_per_epoch", {}).items()}

    # -- trainer events ---------------------------------------------------------------------------------------
    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                       train_dataloader: Any = None, **kwargs: Any) -> None:
        sampler = find_hybrid_sampler(train_dataloader)
        if sampler is None:
            raise UsageError("HybridTrainingCallback needs a trainer whose batch sampler is a HybridBatchSampler: pass "
                             "SentenceTransformerTrainingArguments(batch_sampler=HybridBatchSampler.configure(...))")
        self.sampler = sampler
        self._trainer_state = state
        self._batches_per_epoch = len(train_dataloader)
        mixer = find_step_mixer(train_dataloader)  # hybrid steps mixed with other data's: count only the hybrid ones
        self._hybrid_steps = mixer.hybrid_steps_before if mixer is not None else None
        self._accumulation = max(1, int(args.gradient_accumulation_steps))
        self._updates_per_epoch = max(1, math.ceil(self._batches_per_epoch / self._accumulation))
        self._num_epochs = max(1, math.ceil(state.num_train_epochs or 1))
        self._restore(state)
        self.first_step = state.global_step
        self._epoch = state.global_step // self._updates_per_epoch
        self._counted_until = self._batches_done(state)

    def on_epoch_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                       **kwargs: Any) -> None:
        if self.sampler is None:
            return
        self._epoch = state.global_step // self._updates_per_epoch
        self.sampler.set_epoch(self._epoch)
        alpha = self.alpha_for_epoch(self._epoch, self._num_epochs)
        if alpha is not None:
            self.sampler.set_alpha(alpha)
        self.alphas[self._epoch] = self.sampler.alpha
        self._counted_until = self._batches_done(state)

    def on_epoch_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                     **kwargs: Any) -> None:
        if self.sampler is not None:
            self._count_until_now(state)

    def on_log(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
               logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if self.sampler is None or logs is None or not any(k == "loss" or k.startswith("train_") for k in logs):
            return
        stats = self.realised(state)
        logs.update(stats)
        if state.log_history and state.log_history[-1].get("step") == state.global_step:
            state.log_history[-1].update(stats)

    def on_train_end(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                     **kwargs: Any) -> None:
        if self.sampler is None:
            return
        self._count_until_now(state)
        summary = self.summary()
        if summary.get("pairs"):
            logger.info("hybrid batches: %d pairs, X-X share %.3f (alpha %s)", summary["pairs"],
                        summary["xx_share"], ", ".join(f"{a:g}" for a in summary["alpha_per_epoch"].values()))

    # -- counts -----------------------------------------------------------------------------------------------
    def _batches_done(self, state: TrainerState) -> int:
        """Batches (per process) of the current epoch that the trainer has consumed."""
        updates = state.global_step - self._epoch * self._updates_per_epoch
        done = max(0, min(updates * self._accumulation, self._batches_per_epoch))
        return done if self._hybrid_steps is None else self._hybrid_steps(done)

    def _counts(self, start: int, stop: int) -> np.ndarray:
        assert self.sampler is not None  # (called only after on_train_begin found it)
        num_kinds = self.sampler.metadata.num_kinds
        if stop <= start:
            return np.zeros(num_kinds, dtype=np.int64)
        plan = self.sampler.plan(self._epoch)
        return plan.kind_counts(num_steps=stop - start, start=start, num_kinds=num_kinds)

    def _count_until_now(self, state: TrainerState) -> None:
        done = self._batches_done(state)
        self._totals += self._counts(self._counted_until, done)
        self._counted_until = done

    def counts(self, state: TrainerState) -> np.ndarray:
        """Pairs per kind (``q * L + p``) trained on in the run so far, all processes together."""
        return self._totals + self._counts(self._counted_until, self._batches_done(state))

    def _shares(self, counts: np.ndarray) -> tuple[int, float | None, np.ndarray]:
        """Total pairs, X-X share (None without pairs) and which kinds are X-X."""
        is_xx = self.sampler.metadata.is_xx()  # type: ignore[union-attr]
        total = int(counts.sum())
        return total, (round(float(counts[is_xx].sum()) / total, 6) if total else None), is_xx

    def realised(self, state: TrainerState) -> dict[str, float | int]:
        """The logged statistics (see the class doc)."""
        assert self.sampler is not None  # (called only after on_train_begin found it)
        counts = self.counts(state)
        total, share, is_xx = self._shares(counts)
        p = self.prefix
        stats: dict[str, float | int] = {f"{p}/alpha": self.sampler.alpha, f"{p}/xx_share": share or 0.0,
                                         f"{p}/pairs": total}
        for k in np.flatnonzero(counts):
            stats[f"{p}/{'xx' if is_xx[k] else 'xy'}/{self.sampler.metadata.kind_name(int(k))}"] = int(counts[k])
        return stats

    def summary(self) -> dict[str, Any]:
        """Realised shares and counts of the whole run (after ``train()`` ended), for reports."""
        if self.sampler is None:
            return {}
        meta, counts = self.sampler.metadata, self._totals
        total, share, is_xx = self._shares(counts)
        return {
            "alpha_per_epoch": {str(e): a for e, a in sorted(self.alphas.items())},
            "pairs": total,
            "xx_share": share,
            "xx_pairs": {meta.kind_name(int(k)): int(counts[k]) for k in np.flatnonzero(counts * is_xx)},
            "xy_pairs": {meta.kind_name(int(k)): int(counts[k]) for k in np.flatnonzero(counts * ~is_xx)},
        }
