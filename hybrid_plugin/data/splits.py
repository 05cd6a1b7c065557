"""A development split of a collection: :func:`split_items`, :class:`DataSplit` and :class:`SplitInfo`.

A recipe (loss scale, batch size, hard negatives, steps) is chosen on items held out of the *training*
collection, never on an evaluation set. :func:`split_items` holds out a share of the items:

* **by item**: an item goes to one side with every one of its languages (question and answer);
* **by paragraph**: items whose answers share a paragraph (in any language) go to the same side, so that no
  sentence of a dev paragraph is ever trained on -- not as a positive, not as a hard negative (the other
  sentences of the answer's paragraph), not as an in-batch negative. MLQA-R's 1,148 items form 933 such groups
  (765 of one item, at most 6);
* each side is built as :meth:`~hybrid_plugin.data.collection.ParallelQA.limit` builds its collection
  (:meth:`~hybrid_plugin.data.collection.ParallelQA.subset`): its items and the paragraphs that hold their
  answers, so both sides are valid collections and their candidate pools are disjoint;
* **deterministic and stable**: the groups are taken in the order of a SHA-256 of the seed and the group's smallest
  question id, not of the file order, so re-reading the collection gives the same split; groups are taken while
  they fit, so the dev side has ``round(fraction x items)`` items (fewer only when no remaining group fits).

Each side remembers which side of which split it is (``ParallelQA.split``, a :class:`SplitInfo`); evaluation
results record it beside the dataset (``dataset.split`` in ``results.json``), training reports in
``training.json``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.errors import UsageError

__all__ = ["DataSplit", "Side", "SplitInfo", "check_split_options", "split_items"]

Side = Literal["train", "dev"]

_MAX_SEED = 2**32 - 1


def check_split_options(dev_fraction: Any, seed: Any, *, optional: bool = False) -> None:
    """Raise :class:`UsageError` unless ``dev_fraction`` is a number in (0, 1) (or None, with ``optional``: no
    split) and ``seed`` an integer in [0, 2**32 - 1].

    Example::

        check_split_options(0.1, 0)     # fine
        check_split_options(1.0, 0)     # UsageError: --dev-fraction must be a number in (0, 1), got 1.0
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= _MAX_SEED:
        raise UsageError(f"--dev-seed must be an integer in [0, {_MAX_SEED}], got {seed!r}")
    if optional and dev_fraction is None:
        return
    number = isinstance(dev_fraction, (int, float)) and not isinstance(dev_fraction, bool)
    if not (number and math.isfinite(dev_fraction) and 0 < dev_fraction < 1):
        raise UsageError(f"--dev-fraction must be a number in (0, 1) (the share of items held out), "
                         f"got {dev_fraction!r}")


@dataclass(frozen=True)
class SplitInfo:
    """Which side of which split a collection is (what results and training reports record).

    Args:
        side (str): ``"train"`` or ``"dev"``.
        fraction (float): the share of items asked for the dev side.
        seed (int): the split's seed.
        train_items (int): items on the train side.
        dev_items (int): items on the dev side.
        dev_digest (str): SHA-256 over the sorted dev question ids (equal digests, equal splits).

    Example::

        >>> SplitInfo("dev", 0.1, 0, 1033, 115, "ab" * 32).title
        'dev split (115 of 1148 items, fraction 0.1, seed 0)'
    """

    side: Side
    fraction: float
    seed: int
    train_items: int
    dev_items: int
    dev_digest: str

    @property
    def items(self) -> int:
        """Items on this side."""
        return self.train_items if self.side == "train" else self.dev_items

    @property
    def title(self) -> str:
        return (f"{self.side} split ({self.items} of {self.train_items + self.dev_items} items, fraction "
                f"{self.fraction:g}, seed {self.seed})")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SplitInfo:
        """Read :meth:`to_dict`'s form back.

        Raises:
            ValueError: a field is missing or of the wrong kind (the caller names the file).
        """
        kinds = {"side": str, "fraction": (int, float), "seed": int, "train_items": int, "dev_items": int,
                 "dev_digest": str}
        for name, kind in kinds.items():
            value = data.get(name)
            if isinstance(value, bool) or not isinstance(value, kind):
                raise ValueError(f"split field {name!r} is missing or not a {getattr(kind, '__name__', 'number')}")
        if data["side"] not in ("train", "dev"):
            raise ValueError(f"split field 'side' must be train or dev, got {data['side']!r}")
        return cls(data["side"], float(data["fraction"]), data["seed"], data["train_items"], data["dev_items"],
                   data["dev_digest"])


@dataclass(frozen=True)
class DataSplit:
    """The two sides of a collection split by :func:`split_items`.

    Args:
        train (ParallelQA): the items trained on (``train.split.side == "train"``).
        dev (ParallelQA): the items held out (``dev.split.side == "dev"``).
        dev_ids (tuple[str, ...]): the dev question ids, in the collection's order.
        fraction (float): the share asked for.
        seed (int): the seed.
    """

    train: ParallelQA
    dev: ParallelQA
    dev_ids: tuple[str, ...]
    fraction: float
    seed: int

    @property
    def dev_digest(self) -> str:
        return _digest(self.dev_ids)

    def record(self) -> dict[str, Any]:
        """The split in a JSON form: fraction, seed, item counts, the dev digest and the dev ids."""
        return {"fraction": self.fraction, "seed": self.seed, "train_items": len(self.train.qids),
                "dev_items": len(self.dev_ids), "dev_digest": self.dev_digest, "dev_ids": list(self.dev_ids)}


def _digest(ids: Any) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def _paragraph_groups(qa: ParallelQA) -> list[list[str]]:
    """Items linked by an answer in the same paragraph of some language (union-find), each group in the
    collection's order."""
    parent = {qid: qid for qid in qa.qids}

    def root(qid: str) -> str:
        while parent[qid] != qid:
            parent[qid] = parent[parent[qid]]
            qid = parent[qid]
        return qid

    first_of_paragraph: dict[tuple[str, int], str] = {}
    for lang in qa.languages:
        for qid, docid in qa.relevant[lang].items():
            key = (lang, qa.candidate(docid).paragraph)
            other = first_of_paragraph.setdefault(key, qid)
            a, b = root(other), root(qid)
            if a != b:
                parent[b] = a
    groups: dict[str, list[str]] = {}
    for qid in qa.qids:
        groups.setdefault(root(qid), []).append(qid)
    return list(groups.values())


def _order(group: list[str], seed: int) -> str:
    """Where a group comes in the split's draw: a hash of the seed and its smallest id (not the file order)."""
    return hashlib.sha256(f"{seed}\t{min(group)}".encode()).hexdigest()


def split_items(qa: ParallelQA, dev_fraction: float, *, seed: int = 0) -> DataSplit:
    """Hold out about ``dev_fraction`` of the items of ``qa`` as a development side (see the module doc).

    Args:
        qa (ParallelQA): the whole collection (not a side of another split).
        dev_fraction (float): share of the items held out, in (0, 1).
        seed (int): which split (the same seed gives the same split of the same collection). Defaults to 0.

    Returns:
        DataSplit: both sides (valid collections with disjoint items and candidate pools), the dev ids.

    Raises:
        UsageError: ``dev_fraction`` outside (0, 1), a bad seed, a side that would be empty, or ``qa`` that is
            already a side of a split.

    Example::

        from hybrid_plugin.data import load_parallel_qa, split_items

        split = split_items(load_parallel_qa("mlqa-r", data="../shared/data/mlqa-r"), 0.1)
        len(split.dev.qids), len(split.train.qids)     # (115, 1033)
    """
    check_split_options(dev_fraction, seed)
    if qa.split is not None:
        raise UsageError(f"{qa.name} is already the {qa.split.side} side of a split; split the whole collection")
    total = len(qa.qids)
    target = math.floor(dev_fraction * total + 0.5)
    if not 0 < target < total:
        side = "dev" if target == 0 else "train"
        raise UsageError(f"--dev-fraction {dev_fraction:g} of {qa.name}'s {total} items leaves the {side} side "
                         "empty")
    dev: set[str] = set()
    for group in sorted(_paragraph_groups(qa), key=lambda g: _order(g, seed)):
        if len(dev) + len(group) <= target:
            dev.update(group)
            if len(dev) == target:
                break
    if not dev:
        raise UsageError(f"--dev-fraction {dev_fraction:g} of {qa.name}: every group of items sharing a paragraph "
                         f"has more than {target} items; hold out a larger fraction")
    dev_ids = tuple(qid for qid in qa.qids if qid in dev)
    train_ids = [qid for qid in qa.qids if qid not in dev]
    digest = _digest(dev_ids)
    sides = {}
    for side, ids in (("train", train_ids), ("dev", dev_ids)):
        info = SplitInfo(side, float(dev_fraction), seed, len(train_ids), len(dev_ids), digest)  # type: ignore[arg-type]
        sides[side] = dataclasses.replace(qa.subset(ids), split=info)
    return DataSplit(sides["train"], sides["dev"], dev_ids, float(dev_fraction), seed)
