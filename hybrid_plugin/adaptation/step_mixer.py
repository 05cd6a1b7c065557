"""How a run mixes hybrid steps with steps of another dataset: :class:`DenoisingStepMixer`, sentence-transformers'
multi-dataset batch sampler interface with an exact share of the other steps, and :func:`steps_per_epoch`.

Used by :func:`hybrid_plugin.adaptation.denoising.adapt_with_denoising` (TSDAE steps among hybrid steps);
:class:`~hybrid_plugin.sampling.HybridTrainingCallback` finds the hybrid sampler inside it and counts only the
hybrid steps (``hybrid_steps_before``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction
from itertools import accumulate
from typing import Any

from sentence_transformers.base.sampler import MultiDatasetDefaultBatchSampler

from hybrid_plugin.errors import UsageError
from hybrid_plugin.sampling.sampler import HybridBatchSampler

__all__ = ["DenoisingStepMixer", "check_share", "steps_per_epoch"]


def check_share(share: Any) -> float:
    """``share`` as a float, or a UsageError when it is not a number in (0, 1)."""
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0.0 < float(share) < 1.0:
        raise UsageError(f"share (of TSDAE steps) must be a number in (0, 1), got {share!r}")
    return float(share)


def _share_fraction(share: float) -> Fraction:
    return Fraction(share).limit_denominator(10**6)


def steps_per_epoch(hybrid_steps: int, share: float) -> int:
    """The steps of an epoch that holds ``hybrid_steps`` hybrid steps: the most steps whose non-TSDAE steps are
    ``hybrid_steps`` (the epoch ends just before the next hybrid step), so that an epoch's TSDAE steps are
    ``floor(steps * share)`` and every epoch keeps the share.

    Example::

        >>> steps_per_epoch(4, 0.5), steps_per_epoch(1, 0.75), steps_per_epoch(6, 0.25)
        (8, 4, 8)
    """
    fraction = _share_fraction(share)
    steps = math.ceil(hybrid_steps / (1 - fraction))
    while steps - math.floor(steps * fraction) > hybrid_steps:
        steps -= 1
    while (steps + 1) - math.floor((steps + 1) * fraction) <= hybrid_steps:
        steps += 1
    return steps


class DenoisingStepMixer(MultiDatasetDefaultBatchSampler):
    """A multi-dataset batch sampler: hybrid steps and TSDAE steps in a fixed, exact proportion.

    Of the first ``k`` steps of every epoch, ``floor(k * share)`` are TSDAE steps (step ``i`` is one when
    ``floor((i + 1) * share) > floor(i * share)``: ``share=0.5`` alternates, hybrid first). An epoch holds every
    batch of the hybrid sampler's epoch (:func:`steps_per_epoch`); the TSDAE batch sampler is iterated again
    whenever it runs out (a new shuffle from the trainer's generator, reseeded with ``seed + epoch``). A step is
    ``num_replicas`` batches of one kind (the hybrid sampler's global batch), so that every process takes the same
    kind of step. :class:`~hybrid_plugin.sampling.HybridTrainingCallback` finds ``hybrid_sampler`` and counts only
    hybrid steps (``hybrid_steps_before``).

    Args:
        dataset (torch.utils.data.ConcatDataset): the datasets, as the trainer concatenates them.
        batch_samplers (list): one :class:`~hybrid_plugin.sampling.HybridBatchSampler` and one other batch sampler.
        generator (torch.Generator, optional): the trainer's generator (the TSDAE shuffles draw from it).
        seed (int): Defaults to 0.
        share (float): share of TSDAE steps, in (0, 1). Defaults to 0.5.

    Example::

        args = SentenceTransformerTrainingArguments(
            "out", batch_sampler=HybridBatchSampler.configure(alpha=0.5),
            multi_dataset_batch_sampler=functools.partial(DenoisingStepMixer, share=0.5))
    """

    def __init__(self, dataset: Any, batch_samplers: list[Any], generator: Any = None, seed: int = 0, *,
                 share: float = 0.5) -> None:
        super().__init__(dataset, batch_samplers, generator=generator, seed=seed)
        check_share(share)
        hybrid = [i for i, s in enumerate(batch_samplers) if isinstance(s, HybridBatchSampler)]
        if len(batch_samplers) != 2 or len(hybrid) != 1:
            raise UsageError(f"DenoisingStepMixer mixes one HybridBatchSampler with one other batch sampler, got "
                             f"{[type(s).__name__ for s in batch_samplers]}")
        self.hybrid_index = hybrid[0]
        self.hybrid_sampler: HybridBatchSampler = batch_samplers[self.hybrid_index]
        self.denoising_sampler = batch_samplers[1 - self.hybrid_index]
        if len(self.denoising_sampler) < 1:
            raise UsageError("the TSDAE texts do not fill one batch")
        self.share = float(share)
        self._fraction = _share_fraction(share)
        self.num_replicas = self.hybrid_sampler.num_replicas
        self.num_steps = steps_per_epoch(self.hybrid_sampler.num_steps, share)

    def denoising_steps_before(self, k: int) -> int:
        """TSDAE steps among the first ``k`` steps of an epoch."""
        return math.floor(k * self._fraction)

    def hybrid_steps_before(self, k: int) -> int:
        """Hybrid steps among the first ``k`` steps of an epoch."""
        return k - self.denoising_steps_before(k)

    def _denoising_batches(self) -> Iterator[list[int]]:
        while True:
            yield from self.denoising_sampler

    def __iter__(self) -> Iterator[list[int]]:
        if self.generator is not None:
            self.generator.manual_seed(self.seed + self.epoch)
        offsets = [0, *accumulate(len(d) for d in self.dataset.datasets)]
        hybrid, denoising = iter(self.hybrid_sampler), self._denoising_batches()
        for step in range(self.num_steps):
            is_denoising = self.denoising_steps_before(step + 1) > self.denoising_steps_before(step)
            source = denoising if is_denoising else hybrid
            offset = offsets[1 - self.hybrid_index] if is_denoising else offsets[self.hybrid_index]
            for _ in range(self.num_replicas):
                yield [i + offset for i in next(source)]

    def __len__(self) -> int:
        return self.num_steps * self.num_replicas
