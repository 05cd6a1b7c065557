"""The records of a recipe ablation: :class:`AblationRecord` (one JSON per variant) and :func:`ablation_markdown`
(the table regenerated from them).

What lives here: the record's one JSON form, reading a folder of records, and the Markdown table (mono / cross /
multi mAP on the dev split, language bias, Δ against the untuned base, the no-forgetting check, steps, seconds
per step, peak memory, the commands). What does not: running the variants (:mod:`hybrid_plugin.study.ablation`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from hybrid_plugin.errors import DataError
from hybrid_plugin.files import atomic_write

__all__ = ["BASE", "FORGETTING_TOLERANCE", "AblationRecord", "ablation_markdown", "read_records", "write_markdown",
           "write_record"]

BASE = "base"
"""The name of the untuned base model's record."""

FORGETTING_TOLERANCE = 0.005
"""A trained variant forgets nothing when its mono mAP is at least the base's minus this."""


@dataclass(frozen=True)
class AblationRecord:
    """One variant of the ablation (or the untuned base), measured on the dev side of the training collection.

    Args:
        name (str): the variant (``"base"`` for the untuned model).
        identity (dict): what made it (the training settings without paths, the evaluation options, the backend,
            the split, the limit): a rerun skips a record whose identity is the one asked for.
        overrides (dict): the variant's training settings over the base recipe (empty for the base).
        evaluation_options (dict): keyword arguments it passed to ``evaluate``.
        map (dict): full-ranking mAP per setting (``mono``, ``cross``, ``multi``).
        bias (float | None): language bias on the multilingual pool (mean rank distance).
        split (dict): the dev side evaluated (:class:`~hybrid_plugin.data.splits.SplitInfo`'s form).
        steps (int): optimisation steps trained (0 for the base).
        seconds_per_step (float | None), train_seconds (float), eval_seconds (float): timings.
        peak_rss_mib (float | None): peak resident memory while it trained and was evaluated.
        peak_gpu_mib (float | None): peak GPU memory allocated by torch (None without a GPU).
        final_loss (float | None): the last logged training loss.
        command (str): the command that made it.
        results_file (str): the full ``results.json`` (per-query APs) it was read from.
        created (str): when (UTC, ISO 8601).
        versions (dict): package versions.
    """

    name: str
    identity: dict[str, Any]
    overrides: dict[str, Any]
    evaluation_options: dict[str, Any]
    map: dict[str, float | None]
    bias: float | None
    split: dict[str, Any]
    steps: int
    seconds_per_step: float | None
    train_seconds: float
    eval_seconds: float
    peak_rss_mib: float | None
    peak_gpu_mib: float | None
    final_loss: float | None
    command: str
    results_file: str
    created: str
    versions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, path: str | Path | None = None) -> AblationRecord:
        """Read :meth:`to_dict`'s form; :class:`DataError` names ``path`` and the missing fields."""
        names = [f.name for f in fields(cls)]
        if not isinstance(data, dict):
            raise DataError("an ablation record must be a JSON object", path)
        missing = [n for n in names if n not in data and n != "versions"]
        if missing:
            raise DataError(f"not an ablation record: missing {', '.join(missing)}", path)
        if not isinstance(data["map"], dict) or not isinstance(data["identity"], dict):
            raise DataError("fields 'map' and 'identity' must be objects", path)
        return cls(**{n: data[n] for n in names if n in data})

    @classmethod
    def load(cls, path: str | Path) -> AblationRecord:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"cannot read the ablation record ({exc})", path) from None
        return cls.from_dict(data, path)


def write_record(record: AblationRecord, folder: str | Path) -> Path:
    """Write ``folder/<name>.json`` atomically; return its path."""
    path = Path(folder) / f"{record.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as handle:
        handle.write(json.dumps(record.to_dict(), indent=2, ensure_ascii=False) + "\n")
    return path


def read_records(folder: str | Path, order: Sequence[str] = ()) -> list[AblationRecord]:
    """The records in ``folder``: the base first, then those named in ``order``, then the rest by name."""
    records = {r.name: r for r in (AblationRecord.load(p) for p in sorted(Path(folder).glob("*.json")))}
    ranked = [BASE, *order]
    return sorted(records.values(), key=lambda r: (ranked.index(r.name) if r.name in ranked else len(ranked), r.name))


def _number(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _delta(value: float | None, base: float | None) -> str:
    return "–" if value is None or base is None else f"{value - base:+.4f}"


def _overrides(record: AblationRecord) -> str:
    shown = {**record.overrides, **{f"eval.{k}": v for k, v in record.evaluation_options.items()}}
    return ", ".join(f"{k}={v}" for k, v in shown.items()) or "–"


def _row(record: AblationRecord, base: AblationRecord | None) -> str:
    base_map = base.map if base is not None else {}
    mono = record.map.get("mono")
    kept = "–"
    if record.name != BASE and mono is not None and base_map.get("mono") is not None:
        kept = "yes" if mono >= base_map["mono"] - FORGETTING_TOLERANCE else "**no**"
    cells = [f"`{record.name}`", _overrides(record), str(record.steps),
             *(_number(record.map.get(s)) for s in ("mono", "cross", "multi")), _number(record.bias, 1),
             *(_delta(record.map.get(s), base_map.get(s)) if record.name != BASE else "–"
               for s in ("mono", "cross", "multi")),
             kept, _number(record.seconds_per_step, 2), _number(record.peak_rss_mib, 0),
             _number(record.peak_gpu_mib, 0)]
    return "| " + " | ".join(cells) + " |"


def _header(records: Sequence[AblationRecord]) -> list[str]:
    first = records[0]
    split = first.split
    identity = first.identity
    lines = ["# Recipe ablation on a development split of the training collection", "",
             f"Trained on the train side of `{identity.get('train')}`, evaluated on its held-out dev side "
             f"({split.get('dev_items')} items of {split.get('train_items', 0) + split.get('dev_items', 0)}, "
             f"fraction {split.get('fraction')}, seed {split.get('seed')}, dev digest "
             f"`{str(split.get('dev_digest'))[:12]}…`; whole paragraphs, never an evaluation set).",
             f"Backend `{identity.get('backend')}`; item limit {identity.get('limit') or 'none'}. "
             f"mAP is full-ranking mAP (the evaluation's macro means); Δ is against the untuned base on the same "
             f"dev items; *kept* = no forgetting (Δ mono ≥ −{FORGETTING_TOLERANCE}). Per-query APs: each record's "
             "`results_file`.", ""]
    digests = {r.split.get("dev_digest") for r in records}
    if len(digests) > 1:
        lines += ["**Warning: these records were evaluated on different dev splits; they are not comparable.**", ""]
    return lines


def ablation_markdown(records: Iterable[AblationRecord]) -> str:
    """The ablation table (Markdown) of ``records`` (the base first, if present).

    Example::

        print(ablation_markdown(read_records("benchmarks/training/ablation")))
    """
    records = list(records)
    if not records:
        return "# Recipe ablation\n\nNo variant has finished yet.\n"
    base = next((r for r in records if r.name == BASE), None)
    lines = _header(records)
    lines += ["| variant | overrides | steps | mono | cross | multi | bias | Δ mono | Δ cross | Δ multi | kept | "
              "s/step | peak RSS MiB | peak GPU MiB |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [_row(r, base) for r in records]
    recipe = records[-1].identity.get("recipe") or {}
    if recipe:
        lines += ["", "Shared recipe (every variant, unless it overrides it): "
                  + ", ".join(f"{k}={v}" for k, v in sorted(recipe.items())) + "."]
    commands = list(dict.fromkeys(r.command for r in records if r.command))
    lines += ["", "## Commands", "", "```", *commands, "```", ""]
    return "\n".join(lines)


def write_markdown(records: Iterable[AblationRecord], path: str | Path) -> Path:
    """Write :func:`ablation_markdown` of ``records`` to ``path`` atomically."""
    with atomic_write(Path(path)) as handle:
        handle.write(ablation_markdown(records))
    return Path(path)
