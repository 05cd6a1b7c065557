"""The sentence-transformers adapter: :class:`HybridBatchSampler`, monolingual (X-X) and cross-lingual (X-Y)
batches mixed by α (arXiv 2408.10536), and :func:`find_hybrid_sampler`.

The sampler reads the training set's metadata (:mod:`hybrid_plugin.sampling.metadata`) once and hands out the
batches of an epoch plan (:mod:`hybrid_plugin.sampling.planning`); what it adds is the trainer's interface:
``(dataset, batch_size, drop_last, valid_label_columns, generator, seed)``, ``set_epoch``, ``__len__``, and
:meth:`HybridBatchSampler.configure` for ``SentenceTransformerTrainingArguments(batch_sampler=...)``.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, get_args

import numpy as np
import torch
from sentence_transformers.base.sampler import DefaultBatchSampler

from hybrid_plugin.errors import UsageError
from hybrid_plugin.sampling.metadata import PairMetadata
from hybrid_plugin.sampling.planning import (
    EpochPlan,
    KindPools,
    DEFAULT_TEMPERATURE,
    LanguageWeights,
    Mixing,
    XYMode,
    kind_weights,
    plan_epoch,
)

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = ["HybridBatchSampler", "find_hybrid_sampler", "find_step_mixer"]

logger = logging.getLogger(__name__)


class HybridBatchSampler(DefaultBatchSampler):
    """Hybrid batches (arXiv 2408.10536): X-X batches with probability α, X-Y batches otherwise.

    Every batch of ``mixing="batch"`` is one of two kinds. **X-X**: one language X (drawn by ``language_weights``)
    for every question and passage. **X-Y**: every question and passage in different languages; one pair (X, Y)
    for the whole batch (``xy_mode="pair_per_batch"``) or a pair drawn per example (``"pair_per_example"``).
    ``mixing="example"`` (a variant the paper did not try) makes every example X-X with probability α, else X-Y,
    each with its own language (pair). α = 1 gives the X-X baseline, α = 0 the X-Y baseline.

    Guarantees, for every epoch:

    * exactly ``len(self)`` full batches of ``batch_size`` rows (``drop_last`` has no effect: pools are cycled);
    * ``round(α · steps)`` X-X steps (randomised rounding; ``mixing="example"``: of slots), languages and pairs
      drawn by quota from their weights (``"uniform"``, or ``"size"``: by number of rows), in random order;
    * within a kind, every row is used once before any is reused (reshuffled passes over the kind's rows);
    * no false in-batch negatives: no batch holds an item (parallel question) twice or a positive passage text
      twice, and no hard negative equals a positive of its batch (two pairs may share a hard negative);
    * the same ``seed`` and epoch give the same batches (the plan uses ``numpy.random.default_rng(seed +
      epoch)``; the ``generator`` argument is not used), so resuming with the trainer's ``skip_first_batches``
      continues the same sequence;
    * with ``num_replicas`` processes (default: the ``torch.distributed`` world size), batches come in groups of
      ``num_replicas`` that form one global batch: the same kind (and X-X language / X-Y pair) on every rank at
      each step, no item or passage on two ranks in the same step, and the same number of batches on every rank
      (accelerate gives rank ``r`` batches ``r, r + n, r + 2n, ...``).

    A language (pair) whose rows cannot fill a global batch on their own (fewer distinct items than ``batch_size *
    num_replicas``, or fewer distinct passages than the batch shows) is left out of the draw, with a warning;
    ``self.weights`` shows the result. When one passage answers more questions than a pass over its pool has
    batches, a few slots get a row redrawn from the pool instead (``EpochPlan.redrawn`` counts them).
    An epoch has ``steps_per_epoch`` steps (default: rows // (batch_size · num_replicas)), whatever α is, so the
    length stays the same when :meth:`set_alpha` (or :class:`~hybrid_plugin.sampling.HybridTrainingCallback`)
    changes α; the change applies from the next iteration (epoch). Given to the trainer, the sampler also batches
    an ``eval_dataset``, which then needs the metadata columns too (``build_training_dataset`` makes both).

    Args:
        dataset (datasets.Dataset | PairMetadata): rows with hidden metadata columns (see
            :mod:`hybrid_plugin.sampling.metadata`), or bare :class:`PairMetadata` (planning without texts:
            tests, benchmarks).
        batch_size (int): rows per batch, per process.
        drop_last (bool): accepted for sentence-transformers; every batch is full anyway.
        valid_label_columns (list[str], optional): unused.
        generator (torch.Generator, optional): unused; randomness comes from ``seed`` and the epoch.
        seed (int): base seed. Defaults to 0 (the trainer passes ``args.seed``).
        alpha (float): share of X-X batches, in [0, 1]. Defaults to 0.5.
        language_weights (str): ``"uniform"``, ``"size"`` or ``"temperature"`` (p ∝ n^temperature over the
            languages' (pairs') row counts n). Defaults to ``"uniform"``.
        xy_mode (str): ``"pair_per_batch"`` or ``"pair_per_example"``. Defaults to ``"pair_per_batch"``.
        mixing (str): ``"batch"`` or ``"example"``. Defaults to ``"batch"``.
        steps_per_epoch (int, optional): steps (global batches) per epoch. Defaults to None (rows // global batch).
        num_replicas (int, optional): processes sharing the stream. Defaults to None (the world size).
        temperature (float): the exponent of ``language_weights="temperature"``, in [0, 1] (1: as ``"size"``,
            0: as ``"uniform"``). Defaults to :data:`DEFAULT_TEMPERATURE` (0.3).

    Example::

        from datasets import Dataset
        from sentence_transformers import SentenceTransformerTrainingArguments
        from hybrid_plugin import HybridBatchSampler
        from hybrid_plugin.sampling import hide_metadata_columns

        rows = Dataset.from_dict({
            "anchor": ["Who wrote Faust?", "Wer schrieb Faust?"], "positive": ["Goethe wrote it.", "Goethe."],
            "hybrid_item": [0, 0], "hybrid_query_language": ["en", "de"], "hybrid_passage_language": ["en", "de"],
        })
        sampler = HybridBatchSampler(hide_metadata_columns(rows), batch_size=1, drop_last=False, alpha=1.0)
        list(sampler)   # [[0], [1]] or [[1], [0]]: two X-X batches
        args = SentenceTransformerTrainingArguments("out", batch_sampler=HybridBatchSampler.configure(alpha=0.5))
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        drop_last: bool = False,
        valid_label_columns: list[str] | None = None,
        generator: torch.Generator | None = None,
        seed: int = 0,
        *,
        alpha: float = 0.5,
        language_weights: LanguageWeights = "uniform",
        xy_mode: XYMode = "pair_per_batch",
        mixing: Mixing = "batch",
        steps_per_epoch: int | None = None,
        num_replicas: int | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
    ) -> None:
        _check_options(alpha, language_weights, xy_mode, mixing, steps_per_epoch, num_replicas, temperature)
        self.temperature = float(temperature)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise UsageError(f"batch_size must be a positive integer, got {batch_size!r}")
        super().__init__(dataset, batch_size=batch_size, drop_last=drop_last,
                         valid_label_columns=valid_label_columns, generator=generator, seed=seed)
        self.dataset = dataset
        self.language_weights = language_weights
        self.xy_mode = xy_mode
        self.mixing = mixing
        self.num_replicas = num_replicas or _world_size()
        self.metadata = dataset if isinstance(dataset, PairMetadata) else PairMetadata.from_dataset(dataset)
        self._setup(steps_per_epoch)
        self.set_alpha(alpha)

    def _setup(self, steps_per_epoch: int | None) -> None:
        meta = self.metadata
        self.global_batch_size = self.batch_size * self.num_replicas
        if meta.num_rows < self.global_batch_size:
            raise UsageError(f"the training set has {meta.num_rows} rows, fewer than one global batch of "
                             f"{self.global_batch_size} (batch_size {self.batch_size} x {self.num_replicas} "
                             "processes)")
        self.pools = KindPools.build(meta)
        self.weights = kind_weights(meta, self.pools, global_batch=self.global_batch_size,
                                    language_weights=self.language_weights, xy_mode=self.xy_mode,
                                    mixing=self.mixing, temperature=self.temperature)
        left_out = [meta.kind_name(k) for k in np.flatnonzero(self.pools.counts > 0)
                    if self.weights[0][k] == 0 and self.weights[1][k] == 0]
        if left_out:
            logger.warning("%d language (pair) pools have fewer than %d distinct items or passages and are left out "
                           "of the draw: %s", len(left_out), self.global_batch_size, ", ".join(left_out[:20])
                           + (" ..." if len(left_out) > 20 else ""))
        self._check_mixed_draws()
        self.num_steps = steps_per_epoch or meta.num_rows // self.global_batch_size
        self._plan: tuple[tuple[int, float], EpochPlan] | None = None
        self.plan_seconds = 0.0  # time spent planning epochs (the sampler's whole cost during training)

    def _check_mixed_draws(self) -> None:
        """Slots drawn kind by kind (X-Y with ``pair_per_example``, everything with ``mixing="example"``) need
        enough distinct items among their kinds to fill a global batch."""
        meta, (w_xx, w_xy) = self.metadata, self.weights
        groups = []
        if self.mixing == "example":
            groups.append(("the language (pairs)", (w_xx > 0) | (w_xy > 0)))
        elif self.xy_mode == "pair_per_example":
            groups.append(("the X-Y pairs", w_xy > 0))
        for what, kinds in groups:
            rows = kinds[meta.kind_of_row()]
            items = int(np.count_nonzero(np.bincount(meta.item[rows]))) if rows.any() else 0
            if 0 < items < self.global_batch_size:
                raise UsageError(f"{what} of the training set have {items} distinct items, fewer than one global "
                                 f"batch of {self.global_batch_size}: a batch cannot avoid repeating an item; use a "
                                 "smaller batch size or more items")

    # -- configuration ------------------------------------------------------------------------------------
    @classmethod
    def configure(cls, **options: Any) -> functools.partial[HybridBatchSampler]:
        """The sampler with ``options`` bound, for ``SentenceTransformerTrainingArguments(batch_sampler=...)``.

        The trainer calls it with ``(dataset, batch_size=, drop_last=, valid_label_columns=, generator=, seed=)``
        (its ``args.seed``); the options are checked here, before any training starts. The result is a
        ``functools.partial``, so it pickles with the training arguments.

        Args:
            **options: keyword-only arguments of :class:`HybridBatchSampler` (``alpha``, ``language_weights``,
                ``xy_mode``, ``mixing``, ``steps_per_epoch``, ``num_replicas``, ``temperature``).

        Example::

            args = SentenceTransformerTrainingArguments(
                "out", per_device_train_batch_size=32,
                batch_sampler=HybridBatchSampler.configure(alpha=0.5, language_weights="size"))
        """
        defaults = {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
                    if p.kind is inspect.Parameter.KEYWORD_ONLY}
        unknown = sorted(set(options) - set(defaults))
        if unknown:
            raise UsageError(f"unknown HybridBatchSampler option(s) {unknown}; allowed: {sorted(defaults)} (the "
                             "seed is the trainer's args.seed)")
        _check_options(**{**defaults, **options})
        return functools.partial(cls, **options)

    def set_alpha(self, alpha: float) -> None:
        """Change α; the next iteration (epoch) plans with it."""
        alpha = _check_alpha(alpha)
        w_xx, w_xy = self.weights
        if alpha > 0 and not w_xx.any():
            raise UsageError(f"alpha={alpha} asks for X-X batches, but no language has {self.global_batch_size} "
                             "distinct items and passages to fill one")
        if alpha < 1 and not w_xy.any():
            raise UsageError(f"alpha={alpha} asks for X-Y batches, but no language pair has "
                             f"{self.global_batch_size} distinct items and passages to fill one")
        self.alpha = alpha

    # -- the epoch ------------------------------------------------------------------------------------------
    def plan(self, epoch: int | None = None) -> EpochPlan:
        """The plan of ``epoch`` (default: the current one) with the current α; cached for the latest key."""
        epoch = self.epoch if epoch is None else epoch
        key = (epoch, self.alpha)
        if self._plan is not None and self._plan[0] == key:
            return self._plan[1]
        started = time.perf_counter()
        plan = plan_epoch(self.metadata, self.pools, batch_size=self.batch_size, num_steps=self.num_steps,
                          alpha=self.alpha, weights=self.weights, num_replicas=self.num_replicas,
                          xy_mode=self.xy_mode, mixing=self.mixing, seed=self.seed + epoch)
        self.plan_seconds += time.perf_counter() - started
        self._plan = (key, plan)
        return plan

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.plan().batches():
            yield batch.tolist()

    def __len__(self) -> int:
        return self.num_steps * self.num_replicas

    def describe(self) -> dict[str, Any]:
        """The sampler's settings and draw weights (JSON-ready)."""
        names = [self.metadata.kind_name(k) for k in range(self.metadata.num_kinds)]
        w_xx, w_xy = self.weights
        return {
            "alpha": self.alpha,
            "language_weights": self.language_weights,
            **({"temperature": self.temperature} if self.language_weights == "temperature" else {}),
            "xy_mode": self.xy_mode,
            "mixing": self.mixing,
            "batch_size": self.batch_size,
            "num_replicas": self.num_replicas,
            "steps_per_epoch": self.num_steps,
            "seed": self.seed,
            "rows": self.metadata.num_rows,
            "languages": list(self.metadata.languages),
            "xx_weights": {names[k]: round(float(w_xx[k]), 6) for k in np.flatnonzero(w_xx)},
            "xy_weights": {names[k]: round(float(w_xy[k]), 6) for k in np.flatnonzero(w_xy)},
        }


def find_hybrid_sampler(obj: Any, depth: int = 6) -> HybridBatchSampler | None:
    """The :class:`HybridBatchSampler` inside a (prepared, sharded, skipping) DataLoader, or None."""
    return _find_in_loader(obj, lambda current: isinstance(current, HybridBatchSampler), depth)


def find_step_mixer(obj: Any, depth: int = 6) -> Any | None:
    """The batch sampler inside a DataLoader that interleaves the hybrid sampler's steps with steps of other data
    (it has ``hybrid_sampler`` and ``hybrid_steps_before(k)``: the hybrid steps among its first ``k`` steps of an
    epoch), or None (every step is a hybrid step)."""
    return _find_in_loader(obj, lambda current: callable(getattr(current, "hybrid_steps_before", None)), depth)


def _find_in_loader(obj: Any, wanted: Any, depth: int) -> Any | None:
    seen: set[int] = set()
    stack = [(obj, 0)]
    while stack:
        current, level = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if wanted(current):
            return current
        if level >= depth:
            continue
        for attr in ("batch_sampler", "sampler", "base_dataloader", "_loader", "dataloader", "hybrid_sampler"):
            child = getattr(current, attr, None)
            if child is not None and not isinstance(child, (int, float, str)):
                stack.append((child, level + 1))
    return None


def _world_size() -> int:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def _check_options(
    alpha: float,
    language_weights: str,
    xy_mode: str,
    mixing: str,
    steps_per_epoch: int | None,
    num_replicas: int | None,
    temperature: float = DEFAULT_TEMPERATURE,
) -> None:
    _check_alpha(alpha)
    _check_temperature(temperature)
    for name, value, allowed in (("language_weights", language_weights, LanguageWeights),
                                 ("xy_mode", xy_mode, XYMode), ("mixing", mixing, Mixing)):
        if value not in get_args(allowed):
            raise UsageError(f"{name} must be one of {list(get_args(allowed))}, got {value!r}")
    for name, value in (("steps_per_epoch", steps_per_epoch), ("num_replicas", num_replicas)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise UsageError(f"{name} must be a positive integer or None, got {value!r}")


def _check_temperature(temperature: float) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or \
            not 0.0 <= float(temperature) <= 1.0:
        raise UsageError(f"temperature must be a number in [0, 1] (p ∝ n^temperature: 0 = uniform, 1 = size), got "
                         f"{temperature!r}")
    return float(temperature)


def _check_alpha(alpha: float) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= float(alpha) <= 1.0:
        raise UsageError(f"alpha must be a number in [0, 1] (1 = X-X batches only, 0 = X-Y only), got {alpha!r}")
    return float(alpha)
