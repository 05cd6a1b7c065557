"""The paper's comparison as one resumable study: X-X, X-Y and hybrid training, zero-shot evaluation.

The same base model is trained with α = 1 (X-X), α = 0 (X-Y) and α = 0.5 (hybrid) -- or any list of α -- on one
collection and evaluated on the other (train MLQA-R → evaluate XQuAD-R, train XQuAD-R → evaluate MLQA-R: the two
share no text), next to the untuned base model. Every finished step is kept on disk and skipped when the study
is run again, so an interrupted run continues where it stopped, and a rerun with more ``--seeds`` or more
``--alphas`` extends a finished study (seed by seed) instead of starting again::

    OUT/plan.json                                   the settings (a rerun must match them, or add seeds / α)
    OUT/models/<train>/<config>/seed<k>/            trained sentence-transformers models (+ training.json)
    OUT/encoders/<train>/<config>-seed<k>/          the same, exported for Pyserini (+ pyserini.json)
    OUT/eval/<eval>/<config>/seed<k>/               results.json, results.md, pairs.png, runs/, indexes/
    OUT/summary.md, summary.json                    the side-by-side table, unseen languages, significance
    OUT/leaderboard.md, leaderboard.csv             every result next to the paper's rows
    OUT/alpha-sweep.png                             mono / cross / multi against α (with more than two α)
    OUT/record.yaml                                 the stock Pyserini commands and their expected scores

``<config>`` is ``base``, ``xx``, ``xy`` or ``hybrid-a<α>``.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from hybrid_plugin.errors import DataError, UsageError

__all__ = [
    "PRESETS",
    "ReproduceSettings",
    "config_name",
    "language_splits",
    "run_reproduction",
    "write_record",
    "check_record",
]

logger = logging.getLogger(__name__)

DIRECTIONS: tuple[tuple[str, str], ...] = (("mlqa-r", "xquad-r"), ("xquad-r", "mlqa-r"))

# Settings of the named presets. "quick" is the README's main job on 2 CPU cores (about ten minutes);
# "full" is the recorded study on this kind of machine; "paper" is the paper's scale, for a GPU.
PRESETS: dict[str, dict[str, Any]] = {
    "quick": dict(directions=DIRECTIONS[:1], max_steps=30, batch_size=32, max_seq_length=64, eval_limit=100,
                  train_limit=None, freeze_embeddings=True, lr=3e-5),
    "full": dict(directions=DIRECTIONS, max_steps=200, batch_size=32, max_seq_length=64, eval_limit=None,
                 train_limit=None, freeze_embeddings=True, lr=3e-5),
    "paper": dict(directions=DIRECTIONS, max_steps=None, epochs=1.0, batch_size=100, max_seq_length=128,
                  eval_limit=None, train_limit=None, freeze_embeddings=False, lr=3e-5),
}


@dataclass
class ReproduceSettings:
    """What a study runs (the options of ``hybrid-plugin reproduce``).

    Args:
        out (Path): the study folder (see the module docstring).
        preset (str): ``"quick"``, ``"full"`` or ``"paper"``: fills the fields below that are left None.
        model (str, optional): base model; None: the embedded default (multilingual-e5-small).
        data_root (Path, optional): a folder holding ``xquad-r/`` and ``mlqa-r/`` (no download).
        alphas (Sequence[float]): α values to train with; 1 is X-X, 0 is X-Y. Defaults to (1, 0, 0.5).
        seeds (int): seeds per configuration (0..seeds-1). Defaults to 1.
        directions (Sequence[tuple[str, str]], optional): (train set, evaluation set) pairs.
        max_steps, epochs, batch_size, max_seq_length, lr, freeze_embeddings: training (see
            :class:`~hybrid_plugin.training.TrainingSettings`).
        train_limit (int, optional): train on the first N items.
        eval_limit (int, optional): evaluate on the first N items (their paragraphs form the pools).
        export (bool): export every trained model for Pyserini. Defaults to True.
        publish (Path, optional): also copy the small outputs (plan, results, tables, heatmaps, record) here as
            they are finished: a folder to commit, without models, indexes or runs.
    """

    out: Path
    preset: str = "quick"
    model: str | None = None
    data_root: Path | None = None
    alphas: tuple[float, ...] = (1.0, 0.0, 0.5)
    seeds: int = 1
    directions: tuple[tuple[str, str], ...] | None = None
    max_steps: int | None = None
    epochs: float | None = None
    batch_size: int | None = None
    max_seq_length: int | None = None
    lr: float | None = None
    freeze_embeddings: bool | None = None
    train_limit: int | None = None
    eval_limit: int | None = None
    export: bool = True
    publish: Path | None = None
    _filled: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise UsageError(f"preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")
        self.out = Path(self.out)
        self.alphas = tuple(float(a) for a in self.alphas)
        if not self.alphas:
            raise UsageError("--alphas needs at least one value")
        for alpha in self.alphas:
            if not 0.0 <= alpha <= 1.0:
                raise UsageError(f"--alphas values must lie in [0, 1] (1 = X-X, 0 = X-Y), got {alpha:g}")
        if len(set(self.alphas)) != len(self.alphas):
            raise UsageError(f"--alphas has a repeated value: {','.join(f'{a:g}' for a in self.alphas)}")
        if not isinstance(self.seeds, int) or self.seeds < 1:
            raise UsageError(f"--seeds must be a positive integer, got {self.seeds!r}")
        preset = PRESETS[self.preset]
        for key, value in preset.items():
            if key in ("train_limit", "eval_limit"):
                if getattr(self, key) is None and not self._filled:
                    setattr(self, key, value)
            elif getattr(self, key, None) is None:
                setattr(self, key, value)
        if self.epochs is None:
            self.epochs = 1.0
        self.directions = tuple(tuple(d) for d in self.directions)  # type: ignore[misc]
        for train_set, eval_set in self.directions:
            if train_set == eval_set:
                raise UsageError(f"training and evaluating on {train_set} is not zero-shot")
        self._filled = True

    def plan(self) -> dict[str, Any]:
        """The settings that decide the results (a resumed study must have the same)."""
        keys = ("preset", "model", "alphas", "seeds", "directions", "max_steps", "epochs", "batch_size",
                "max_seq_length", "lr", "freeze_embeddings", "train_limit", "eval_limit")
        plan = {k: getattr(self, k) for k in keys}
        plan["alphas"] = list(plan["alphas"])
        plan["directions"] = [list(d) for d in plan["directions"]]
        return plan


def config_name(alpha: float | None) -> str:
    """``base`` (None), ``xx`` (1), ``xy`` (0) or ``hybrid-a<α>``."""
    if alpha is None:
        return "base"
    if alpha == 1.0:
        return "xx"
    if alpha == 0.0:
        return "xy"
    return f"hybrid-a{alpha:g}"


def _sampling(alpha: float) -> tuple[str, float | None]:
    if alpha == 1.0:
        return "xx", None
    if alpha == 0.0:
        return "xy", None
    return "hybrid", alpha


def _data(settings: ReproduceSettings, name: str) -> Path | None:
    return None if settings.data_root is None else Path(settings.data_root) / name


def language_splits(results: dict[str, Any], seen: Iterable[str]) -> dict[str, dict[str, float | None]]:
    """Mono / cross / multi mAP over settings whose languages were all seen in training, and over the others.

    A cross pair counts as unseen when either of its languages was absent from training; a multi setting when its
    query language was.
    """
    seen = set(seen)
    languages = results["dataset"]["languages"]
    out: dict[str, dict[str, list[float]]] = {"seen": {"mono": [], "cross": [], "multi": []},
                                               "unseen": {"mono": [], "cross": [], "multi": []}}
    for x in languages:
        for y in languages:
            pair = results["pairs"].get(f"{x}-{y}")
            if pair is None:
                continue
            split = "seen" if x in seen and y in seen else "unseen"
            out[split]["mono" if x == y else "cross"].append(pair["map"])
        multi = results["multi_by_language"].get(x)
        if multi is not None:
            out["seen" if x in seen else "unseen"]["multi"].append(multi["map"])
    return {split: {k: (float(np.mean(v)) if v else None) for k, v in groups.items()} for split, groups in out.items()}


@dataclass
class _Condition:
    train_set: str | None  # None: the untuned base
    eval_set: str
    alpha: float | None
    seed: int

    @property
    def config(self) -> str:
        return config_name(self.alpha)

    def model_dir(self, out: Path) -> Path:
        return out / "models" / str(self.train_set) / self.config / f"seed{self.seed}"

    def encoder_dir(self, out: Path) -> Path:
        if self.train_set is None:
            return out / "encoders" / "base"
        return out / "encoders" / str(self.train_set) / f"{self.config}-seed{self.seed}"

    def eval_dir(self, out: Path) -> Path:
        if self.train_set is None:
            return out / "eval" / self.eval_set / "base"
        return out / "eval" / self.eval_set / self.config / f"seed{self.seed}"


def _conditions(settings: ReproduceSettings) -> list[_Condition]:
    """Base rows first, then seed by seed (an interrupted multi-seed study has whole seeds finished)."""
    conditions = [_Condition(None, e, None, 0) for e in dict.fromkeys(e for _, e in settings.directions)]
    for seed in range(settings.seeds):
        for train_set, eval_set in settings.directions:
            for alpha in settings.alphas:
                conditions.append(_Condition(train_set, eval_set, alpha, seed))
    return conditions


_EXTENSIBLE = {"seeds", "alphas"}


def _extends(old: dict[str, Any], plan: dict[str, Any]) -> bool:
    """Whether ``plan`` is ``old`` with more seeds and / or more α (every finished condition stays valid)."""
    diff = {k for k in set(old) | set(plan) if old.get(k) != plan.get(k)}
    if not diff or not diff <= _EXTENSIBLE:
        return False
    try:
        return int(plan["seeds"]) >= int(old["seeds"]) and set(map(float, old["alphas"])) <= set(plan["alphas"])
    except (KeyError, TypeError, ValueError):
        return False


def _check_plan(settings: ReproduceSettings) -> None:
    path = settings.out / "plan.json"
    plan = settings.plan()
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            raise DataError("malformed JSON (not written by hybrid-plugin reproduce?)", path) from None
        if old == plan:
            logger.info("resuming the study in %s", settings.out)
            return
        if not _extends(old, plan):
            diff = sorted(k for k in set(old) | set(plan) if old.get(k) != plan.get(k))
            raise UsageError(f"{settings.out} holds a study with other settings ({', '.join(diff)}); resume it with "
                             "the same options (or more --seeds / --alphas) or choose another --out")
        logger.info("extending the study in %s to %d seed(s) and alphas %s", settings.out, plan["seeds"],
                    ",".join(f"{a:g}" for a in plan["alphas"]))
    from hybrid_plugin.pyserini_io import atomic_write

    with atomic_write(path) as handle:
        json.dump(plan, handle, indent=1)


def _train(settings: ReproduceSettings, cond: _Condition, train_qa: Any) -> Path:
    from hybrid_plugin.training import TrainingSettings, train

    out = cond.model_dir(settings.out)
    if (out / "training.json").is_file():
        logger.info("trained already: %s", out)
        return out
    sampling, alpha = _sampling(float(cond.alpha))  # type: ignore[arg-type]
    resume = (out / "checkpoints").is_dir() and any((out / "checkpoints").iterdir())
    if out.exists() and not resume:
        shutil.rmtree(out)  # a run that died before its first checkpoint
    train(TrainingSettings(
        train=str(cond.train_set), out=out, data=_data(settings, str(cond.train_set)), model=settings.model,
        sampling=sampling, alpha=alpha, max_steps=settings.max_steps, epochs=float(settings.epochs),
        batch_size=int(settings.batch_size), lr=float(settings.lr), max_seq_length=int(settings.max_seq_length),
        seed=cond.seed, freeze_embeddings=bool(settings.freeze_embeddings), limit=settings.train_limit,
        resume=resume, save_steps=max(10, (settings.max_steps or 1000) // 4),
    ), qa=train_qa)
    # a finished model needs no checkpoints (optimizer states are several times the model's size)
    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    return out


def _export(settings: ReproduceSettings, cond: _Condition, model: str | None) -> Path | None:
    if not settings.export:
        return None
    from hybrid_plugin.export import export_model

    out = cond.encoder_dir(settings.out)
    if (out / "pyserini.json").is_file():
        return out
    export_model(model, out, overwrite=out.exists())
    return out


def _evaluate(settings: ReproduceSettings, cond: _Condition, model: str | None, eval_qa: Any,
              training: dict[str, Any]) -> dict[str, Any]:
    from hybrid_plugin.evaluation import evaluate, write_results
    from hybrid_plugin.reporting import load_results

    out = cond.eval_dir(settings.out)
    if (out / "results.json").is_file():
        return load_results(out / "results.json")
    name = "base" if cond.train_set is None else f"{cond.config} (trained on {cond.train_set}, seed {cond.seed})"
    results = evaluate(eval_qa, model, out=out, model_name=name, limit=settings.eval_limit, overwrite=True)
    results["training"] = training
    write_results(results, out)
    _prune_runs(out / "runs")
    return results


def _prune_runs(runs: Path) -> None:
    """Keep the run files of the record's settings and of English against the multilingual pool; drop the rest.

    A full XQuAD-R evaluation writes about 12 GB of depth-1000 runs (121 pairs); a study has eight of them.
    Every number is in results.json already, and ``hybrid-plugin evaluate`` writes all runs for any model.
    """
    if not runs.is_dir():
        return
    keep = {f"{pair}.txt" for pair in RECORD_PAIRS} | {"en-multi.txt"}
    for path in runs.glob("*.txt"):
        if path.name not in keep:
            path.unlink()


def _training_info(settings: ReproduceSettings, cond: _Condition, base_name: str) -> dict[str, Any]:
    info: dict[str, Any] = {"base_model": base_name, "sampling": "base" if cond.alpha is None else
                            _sampling(cond.alpha)[0], "alpha": cond.alpha}
    if cond.train_set is not None:
        info.update(seed=cond.seed, train_dataset=cond.train_set, max_steps=settings.max_steps,
                    batch_size=settings.batch_size, learning_rate=settings.lr, train_limit=settings.train_limit)
        report = cond.model_dir(settings.out) / "training.json"
        if report.is_file():
            detail = json.loads(report.read_text(encoding="utf-8"))
            info["realised"] = (detail.get("sampling") or {}).get("realised")
    return info


def run_reproduction(settings: ReproduceSettings, *, progress: Callable[[str], None] | None = None
                     ) -> dict[str, Any]:
    """Run (or continue) the study; return the summary also written to ``OUT/summary.json``.

    Example::

        from hybrid_plugin.reproduce import ReproduceSettings, run_reproduction

        summary = run_reproduction(ReproduceSettings(out="study", preset="quick", data_root="../shared/data"))
        summary["tables"]["xquad-r"]["hybrid-a0.5"]["map"]["multi"]
    """
    from hybrid_plugin.data import load_parallel_qa
    from hybrid_plugin.models import DEFAULT_MODEL_NAME, resolve_model

    say = progress or (lambda message: logger.info("%s", message))
    started = time.time()
    settings.out.mkdir(parents=True, exist_ok=True)
    _check_plan(settings)
    base_name = settings.model or DEFAULT_MODEL_NAME
    base_path = resolve_model(settings.model)

    datasets: dict[str, Any] = {}

    def dataset(name: str, limit: int | None) -> Any:
        if (name, limit) not in datasets:
            datasets[(name, limit)] = load_parallel_qa(name, data=_data(settings, name)).limit(limit)
        return datasets[(name, limit)]

    conditions = _conditions(settings)
    all_results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for number, cond in enumerate(conditions, start=1):
        label = (f"[{number}/{len(conditions)}] {cond.config}" +
                 (f" trained on {cond.train_set} (seed {cond.seed})" if cond.train_set else "") +
                 f" → {cond.eval_set}")
        if (cond.eval_dir(settings.out) / "results.json").is_file():
            say(f"{label}: done already")
        else:
            say(f"{label}: running")
        if cond.train_set is None:
            model_path = base_path
        else:
            model_path = str(_train(settings, cond, dataset(cond.train_set, settings.train_limit)))
        _export(settings, cond, model_path)
        results = _evaluate(settings, cond, model_path, dataset(cond.eval_set, settings.eval_limit),
                            _training_info(settings, cond, base_name))
        all_results.setdefault((cond.eval_set, cond.config), []).append(results)
        say(f"{label}: mAP mono {results['map']['mono']:.4f} cross {results['map']['cross']:.4f} "
            f"multi {results['map']['multi']:.4f}, bias {results['bias']:.1f}")
        _publish(settings)
    summary = _summarise(settings, all_results, dataset)
    summary["seconds"] = round(time.time() - started, 1)
    _write_reports(settings, all_results, summary)
    _publish(settings, finished=True)
    return summary


PUBLISHED = ("plan.json", "summary.json", "summary.md", "leaderboard.md", "leaderboard.csv", "alpha-sweep.png",
             "record.yaml", "eval/*/*/results.json", "eval/*/*/results.md", "eval/*/*/pairs.png",
             "eval/*/*/*/results.json", "eval/*/*/*/results.md", "eval/*/*/*/pairs.png",
             "models/*/*/*/training.json")


def _publish(settings: ReproduceSettings, *, finished: bool = False) -> None:
    """Copy the study's small outputs to ``settings.publish`` (see :class:`ReproduceSettings`): each condition's
    results as they come, the plan only with the summary it belongs to (an extended study's published folder
    keeps the old plan beside the old summary until the new summary exists)."""
    if settings.publish is None:
        return
    target = Path(settings.publish)
    for pattern in PUBLISHED if finished else [p for p in PUBLISHED if p != "plan.json"]:
        for path in settings.out.glob(pattern):
            dest = target / path.relative_to(settings.out)
            if dest.exists() and dest.stat().st_mtime >= path.stat().st_mtime:
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.tmp")
            shutil.copyfile(path, tmp)
            os.replace(tmp, dest)


def _mean_std(values: Sequence[float]) -> dict[str, float | None]:
    arr = np.asarray(values, dtype=float)
    return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if len(arr) > 1 else None, "n": len(arr)}


def _summarise(settings: ReproduceSettings, all_results: dict[tuple[str, str], list[dict[str, Any]]],
               dataset: Callable[[str, int | None], Any]) -> dict[str, Any]:
    from hybrid_plugin.significance import compare_results

    tables: dict[str, dict[str, Any]] = {}
    for (eval_set, config), runs in all_results.items():
        train_sets = [t for t, e in settings.directions if e == eval_set]
        seen = set(dataset(train_sets[0], settings.train_limit).languages) if train_sets else set()
        row: dict[str, Any] = {"n": len(runs), "map": {}, "measures": {}, "bias": _mean_std([r["bias"] for r in runs])}
        for setting in ("mono", "cross", "multi"):
            row["map"][setting] = _mean_std([r["map"][setting] for r in runs])
            for measure in ("R@1", "R@10", "nDCG@10", "AP@1000"):
                values = [r.get("measures", {}).get(setting, {}).get(measure) for r in runs]
                if all(v is not None for v in values):
                    row["measures"].setdefault(setting, {})[measure] = _mean_std(values)
        splits = [language_splits(r, seen) for r in runs]
        row["unseen_languages"] = sorted(set(runs[0]["dataset"]["languages"]) - seen)
        row["splits"] = {split: {s: (_mean_std([x[split][s] for x in splits]) if splits[0][split][s] is not None
                                     else None) for s in ("mono", "cross", "multi")} for split in ("seen", "unseen")}
        tables.setdefault(eval_set, {})[config] = row
    significance: dict[str, dict[str, Any]] = {}
    for eval_set in tables:
        hybrids = [c for c in tables[eval_set] if c.startswith("hybrid")]
        for hybrid in hybrids:
            for baseline in ("xx", "xy", "base"):
                if (eval_set, baseline) not in all_results:
                    continue
                a, b = all_results[(eval_set, hybrid)], all_results[(eval_set, baseline)]
                if not all("per_query" in r for r in [*a, *b]):
                    continue
                for group in ("mono", "cross", "multi"):
                    test = compare_results(a, b, group)
                    significance.setdefault(eval_set, {}).setdefault(f"{hybrid} vs {baseline}", {})[group] = {
                        "mean_diff": test.mean_diff, "p_value": test.p_value, "n": test.n}
    return {"plan": settings.plan(), "tables": tables, "significance": significance,
            "note": _scale_note(settings)}


def _scale_note(settings: ReproduceSettings) -> str:
    parts = [f"preset {settings.preset}", f"{settings.max_steps} steps" if settings.max_steps else
             f"{settings.epochs:g} epoch(s)", f"batch {settings.batch_size}", f"lr {settings.lr:g}",
             f"max length {settings.max_seq_length}", f"{settings.seeds} seed(s)"]
    if settings.freeze_embeddings:
        parts.append("token embeddings frozen")
    if settings.eval_limit:
        parts.append(f"evaluation on the first {settings.eval_limit} items only")
    if settings.train_limit:
        parts.append(f"training on the first {settings.train_limit} items only")
    return ", ".join(parts)


def _fmt(stat: dict[str, Any] | None, digits: int = 4) -> str:
    if stat is None:
        return "–"
    if stat["std"] is None:
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


CONFIG_LABELS = {"base": "untuned base", "xx": "X-X (α = 1)", "xy": "X-Y (α = 0)"}


def _label(config: str) -> str:
    return CONFIG_LABELS.get(config) or f"hybrid (α = {config.removeprefix('hybrid-a')})"


def _order(configs: Iterable[str]) -> list[str]:
    rank = {"base": 0, "xx": 1, "xy": 2}
    return sorted(configs, key=lambda c: (rank.get(c, 3), c))


def summary_markdown(summary: dict[str, Any]) -> str:
    """The study's tables as Markdown (also ``OUT/summary.md``)."""
    lines = ["# Reproduction: X-X vs X-Y vs hybrid batches (zero-shot)", "", f"Settings: {summary['note']}.", ""]
    for eval_set, table in summary["tables"].items():
        trained_on = [t for t, e in summary["plan"]["directions"] if e == eval_set]
        lines += [f"## {eval_set}" + (f" (models trained on {', '.join(trained_on)})" if trained_on else ""), "",
                  "| model | n | mAP mono | mAP cross | mAP multi | R@1 mono | R@10 cross | bias ↓ |",
                  "|---|---|---|---|---|---|---|---|"]
        for config in _order(table):
            row = table[config]
            lines.append(f"| {_label(config)} | {row['n']} | {_fmt(row['map']['mono'])} | {_fmt(row['map']['cross'])} "
                         f"| {_fmt(row['map']['multi'])} | {_fmt(row['measures'].get('mono', {}).get('R@1'))} | "
                         f"{_fmt(row['measures'].get('cross', {}).get('R@10'))} | {_fmt(row['bias'], 1)} |")
        unseen = next(iter(table.values()))["unseen_languages"]
        if unseen:
            lines += ["", f"Languages absent from training ({', '.join(unseen)}) and the others, mAP:", "",
                      "| model | mono seen | mono unseen | cross seen | cross unseen | multi seen | multi unseen |",
                      "|---|---|---|---|---|---|---|"]
            for config in _order(table):
                sp = table[config]["splits"]
                lines.append(f"| {_label(config)} | " + " | ".join(
                    _fmt(sp[split][s]) for s in ("mono", "cross", "multi") for split in ("seen", "unseen")) + " |")
        tests = summary["significance"].get(eval_set)
        if tests:
            lines += ["", "Paired randomisation test over per-query AP (10,000 sign flips, two-sided):", "",
                      "| comparison | mono Δ (p) | cross Δ (p) | multi Δ (p) |", "|---|---|---|---|"]
            for name, groups in tests.items():
                lines.append(f"| {name} | " + " | ".join(
                    f"{groups[g]['mean_diff']:+.4f} ({groups[g]['p_value']:.3g})" for g in ("mono", "cross", "multi"))
                    + " |")
        lines.append("")
    return "\n".join(lines)


def _write_reports(settings: ReproduceSettings, all_results: dict[tuple[str, str], list[dict[str, Any]]],
                   summary: dict[str, Any]) -> None:
    from hybrid_plugin.pyserini_io import atomic_write
    from hybrid_plugin.reporting import leaderboard, plot_alpha_sweep

    out = settings.out
    flat = [r for runs in all_results.values() for r in runs]
    with atomic_write(out / "summary.json") as handle:
        json.dump(summary, handle, indent=1)
    with atomic_write(out / "summary.md") as handle:
        handle.write(summary_markdown(summary))
    board = leaderboard(flat)
    with atomic_write(out / "leaderboard.md") as handle:
        handle.write(board.to_markdown())
    with atomic_write(out / "leaderboard.csv") as handle:
        handle.write(board.to_csv())
    if len(settings.alphas) > 2:
        plot_alpha_sweep(flat, out / "alpha-sweep.png")
    if settings.export:
        write_record(settings, all_results, out / "record.yaml")


# ------------------------------------------------------------------------------------------- 2CR record
RECORD_MEASURES = ("AP@1000", "nDCG@10", "R@1")
RECORD_PAIRS = ("en-en", "en-de", "de-en")
ENCODER_PLACEHOLDER = "{encoder}"


def write_record(settings: ReproduceSettings, all_results: dict[tuple[str, str], list[dict[str, Any]]],
                 path: Path) -> dict[str, Any]:
    """A Pyserini-2CR-style record: per condition (model × dataset × setting) the stock commands and scores.

    Commands run from a folder where ``hybrid-plugin prepare`` wrote the topics, qrels and corpora (``setup``)
    each condition's encoder is named relative to the record's folder and stands as ``{encoder}`` in its
    commands.
    """
    import yaml

    from hybrid_plugin.export import read_export

    base = path.parent
    setup = []
    for eval_set in dict.fromkeys(e for _, e in settings.directions):
        data = f" --data {settings.data_root / eval_set}" if settings.data_root else ""
        limit = f" --limit {settings.eval_limit}" if settings.eval_limit else ""
        setup.append(f"hybrid-plugin prepare {eval_set}{data}{limit} --out . --overwrite")
    conditions = []
    for (eval_set, config), runs in sorted(all_results.items()):
        results = runs[0]
        cond = _Condition(None if config == "base" else results["training"]["train_dataset"], eval_set,
                          results["training"]["alpha"], int(results["training"].get("seed", 0)))
        encoder = cond.encoder_dir(settings.out)
        info = read_export(encoder)
        for pair in RECORD_PAIRS:
            if pair not in results["pairs"]:
                continue
            x, y = pair.split("-")
            tag = f"{eval_set}.{config}-seed{cond.seed}"
            index = f"indexes/{tag}.{y}"
            run = f"runs/{tag}.{pair}.txt"
            info = replace(info, path=ENCODER_PLACEHOLDER)
            encode = info.encode_args(f"corpus/{eval_set}/{y}.jsonl", index)
            search = info.search_args(index, f"topics/{eval_set}.{x}.tsv", run)
            evaluate = ["ir_measures", f"qrels/{eval_set}.{y}.txt", run, *RECORD_MEASURES]
            scores = {m: round(results["pairs"][pair][m], 4) for m in RECORD_MEASURES if m in results["pairs"][pair]}
            conditions.append({
                "name": f"{tag}.{pair}", "dataset": eval_set, "model": results["model"]["name"], "setting": pair,
                "encoder": os.path.relpath(encoder, base),
                "commands": [shlex.join(encode), shlex.join(search), shlex.join(evaluate)],
                "scores": scores,
            })
    record = {"title": "hybrid-plugin reproduction record (Pyserini 2CR style)", "study": _scale_note(settings),
              "setup": setup, "tolerance": {"OK": 1e-4, "OKish": 5e-4}, "conditions": conditions}
    from hybrid_plugin.pyserini_io import atomic_write

    with atomic_write(path) as handle:
        yaml.safe_dump(record, handle, sort_keys=False, allow_unicode=True, width=200)
    return record


@dataclass
class CheckOutcome:
    """One condition of a record, re-run: its status (OK / OKish / FAIL) and the scores."""

    name: str
    status: str
    expected: dict[str, float]
    got: dict[str, float]
    message: str = ""


def check_record(record_path: str | Path, workdir: str | Path = ".", *, only: str | None = None,
                 study: str | Path | None = None,
                 progress: Callable[[str], None] | None = None) -> list[CheckOutcome]:
    """Re-run a record's stock commands and compare their scores (OK: within 1e-4, OKish: 5e-4, else FAIL).

    Args:
        record_path: the ``record.yaml`` written by a study.
        workdir: where to run (topics, qrels and corpora are prepared there first; indexes and runs go there).
        only: run only the conditions whose name contains this text.
        study: the study folder holding the exported encoders the record names (default: the record's own
            folder; give it for a published copy of a record, e.g. ``benchmarks/reproduce/full/record.yaml``
            checked against ``outputs/reproduce-full``).
    """
    import yaml

    record_path = Path(record_path)
    try:
        record = yaml.safe_load(record_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"cannot read the record: {exc}", record_path) from None
    if not isinstance(record, dict) or not isinstance(record.get("conditions"), list):
        raise DataError('expected a mapping with a "conditions" list', record_path)
    conditions = [c for c in record["conditions"] if only is None or only in c.get("name", "")]
    study = Path(study) if study is not None else record_path.parent
    if not study.is_dir():
        raise UsageError(f"--study {study} is not a folder (expected the study folder that holds encoders/)")
    if not conditions:
        raise UsageError(f"no condition of {record_path} matches {only!r}")
    say = progress or (lambda message: logger.info("%s", message))
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    tolerance = record.get("tolerance", {"OK": 1e-4, "OKish": 5e-4})
    from hybrid_plugin.java import pyserini_env

    env = pyserini_env()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for command in record.get("setup", []):
        _run_stock(command, workdir, env)
    outcomes = []
    for cond in conditions:
        say(f"checking {cond['name']}")
        stdout = ""
        try:
            encoder = str((study / cond["encoder"]).resolve())
            if not (Path(encoder) / "pyserini.json").is_file():
                raise DataError("no exported encoder there (give --study, the folder where the record's study ran)",
                                encoder)
            for command in cond["commands"]:
                command = command.replace(shlex.quote(ENCODER_PLACEHOLDER), shlex.quote(encoder))
                if "pyserini.encode" in command and _index_exists(command, workdir):
                    continue
                stdout = _run_stock(command, workdir, env)
        except DataError as exc:
            outcomes.append(CheckOutcome(cond["name"], "FAIL", cond["scores"], {}, str(exc)))
            continue
        got = {}
        for line in stdout.strip().splitlines():
            parts = line.split("\t")
            if len(parts) == 2:
                got[parts[0]] = float(parts[1])
        worst = max((abs(got.get(m, float("inf")) - v) for m, v in cond["scores"].items()), default=0.0)
        status = "OK" if worst <= tolerance["OK"] else "OKish" if worst <= tolerance["OKish"] else "FAIL"
        outcomes.append(CheckOutcome(cond["name"], status, cond["scores"], got))
    return outcomes


def _index_exists(command: str, workdir: Path) -> bool:
    args = shlex.split(command)
    index = args[args.index("--embeddings") + 1]
    return (workdir / index / "index").is_file()


def _run_stock(command: str, workdir: Path, env: dict[str, str]) -> str:
    args = shlex.split(command)
    if args[0] == "python":
        args[0] = sys.executable
    done = subprocess.run(args, cwd=workdir, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise DataError(f"command failed (exit {done.returncode}): {tail[0]}", None, command[:120])
    return done.stdout
