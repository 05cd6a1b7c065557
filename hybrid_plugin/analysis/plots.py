"""Figures (PNG): the per-pair mAP heatmap of one evaluation, and mono / cross / multi mAP against α over a
sweep of trained models. Drawn with matplotlib's Agg canvas, without pyplot's global state.

Example::

    plot_pair_heatmap(load_results("runs/hybrid"), "runs/hybrid/pairs.png")
    plot_alpha_sweep([load_results(p) for p in paths], "alpha-sweep.png")
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from hybrid_plugin.analysis.leaderboard import Column, LeaderboardRow, aggregate
from hybrid_plugin.analysis.tables import pair_matrix, pooled_columns
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.results import SETTINGS, EvaluationResults
from hybrid_plugin.files import atomic_write

__all__ = ["plot_alpha_sweep", "plot_pair_heatmap"]

_COLORS = {"mono": "tab:blue", "cross": "tab:orange", "multi": "tab:green"}
_MARKERS = ("o", "s", "^", "D", "v")


def _new_figure(width: float, height: float) -> Any:
    # matplotlib is imported here, not at the top: it is heavy and only the plots need it. Figure +
    # FigureCanvasAgg directly: the Agg backend, no pyplot global state, no change to the user's backend.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save_png(fig: Any, path: Path, dpi: int = 150) -> Path:
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=dpi)
    return path


def plot_pair_heatmap(results: EvaluationResults, path: str | Path) -> Path:
    """Draw the per-pair mAP matrix (query language × pool language) as an annotated heatmap PNG.

    Args:
        results (EvaluationResults): the evaluation (see :func:`~hybrid_plugin.evaluation.results.load_results`).
        path (str | Path): the ``.png`` file to write (atomically).

    Returns:
        The path written.
    """
    langs, matrix = pair_matrix(results)
    columns = pooled_columns(matrix)  # a query-only language is a row without a column
    values = np.array([[np.nan if row[j] is None else row[j] for j in columns] for row in matrix], dtype=float)
    pools = [langs[j] for j in columns]
    n = len(langs)
    side = max(4.0, 0.62 * n + 2.2)
    fig = _new_figure(side + 1.0, side)
    ax = fig.add_subplot()
    finite = values[np.isfinite(values)]
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if vmax - vmin < 1e-9:
        vmin, vmax = vmin - 0.05, vmax + 0.05
    image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", vmin=vmin, vmax=vmax)
    cmap = image.get_cmap()
    fontsize = 9 if n <= 8 else 7 if n <= 12 else 5
    for (i, j), value in np.ndenumerate(values):
        if not np.isfinite(value):
            continue
        r, g, b, _ = cmap(image.norm(value))
        color = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
        ax.text(j, i, f"{value:.3f}".lstrip("0") if value < 1 else "1.00", ha="center", va="center",
                color=color, fontsize=fontsize, fontweight="bold" if langs[i] == pools[j] else "normal")
    ax.set_xticks(range(len(pools)), labels=pools)
    ax.set_yticks(range(n), labels=langs)
    ax.set_xlabel("pool (candidate) language")
    ax.set_ylabel("query language")
    ax.tick_params(top=True, labeltop=True, bottom=False, labelbottom=False)
    ax.xaxis.set_label_position("top")
    maps = results.map
    shown = {k: "–" if v is None else f"{v:.3f}" for k, v in maps.items()}
    ax.set_title(f"{results.title}\nmAP per pair — mono {shown['mono']}, cross {shown['cross']}, "
                 f"multi {shown['multi']}", fontsize=10, pad=10)
    fig.colorbar(image, ax=ax, shrink=0.8, label="mAP (full ranking)")
    return _save_png(fig, Path(path))


def _draw_sweep_panel(ax: Any, group: str, swept: list[LeaderboardRow], rows: list[LeaderboardRow]) -> None:
    members = [r for r in swept if r.group == group]
    # one line per configuration apart from sampling and alpha
    lines = list(dict.fromkeys((r.model, r.train_dataset, r.extra) for r in members))
    for m, config in enumerate(lines):
        line = sorted((r for r in members if (r.model, r.train_dataset, r.extra) == config), key=lambda r: r.alpha)
        name = " ".join([config[0], *(f"{k}={v}" for k, v in config[2])])
        alphas = [r.alpha for r in line]
        for setting in SETTINGS:
            key = f"{setting}_map"
            means = [r.values[key][0] for r in line]
            stds = [r.values[key][1] or 0.0 for r in line]
            label = setting if len(lines) == 1 else f"{setting} · {name}"
            ax.errorbar(alphas, means, yerr=stds, color=_COLORS[setting], marker=_MARKERS[m % len(_MARKERS)],
                        capsize=3, linewidth=1.5, label=label)
    for r in rows:
        if r.alpha is None and r.group == group:
            for setting in SETTINGS:
                ax.axhline(r.values[f"{setting}_map"][0], color=_COLORS[setting], linestyle=":", linewidth=1)
    ns = sorted({r.n for r in members})
    ax.set_title(f"{group} — seeds per point: {'/'.join(map(str, ns))}", fontsize=10)
    ax.set_xlabel("α (share of X-X batches)")
    ax.set_ylabel("mAP (full ranking)")
    ax.set_xlim(-0.05, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")


def plot_alpha_sweep(results_list: Iterable[EvaluationResults], path: str | Path) -> Path:
    """Plot mono / cross / multi mAP against α (the share of X-X batches), one panel per evaluation dataset.

    Results sharing a configuration are averaged over seeds, with error bars of ± one sample standard deviation.
    Untuned models (results without ``training``) are drawn as dotted horizontal lines.

    Args:
        results_list (Iterable[EvaluationResults]): the evaluations; those with ``training.alpha`` (or sampling
            ``xx`` / ``xy``) are placed on the α axis.
        path (str | Path): the ``.png`` file to write (atomically).

    Raises:
        UsageError: no result has an α.
        DataError: a result whose training fields cannot place it.
    """
    rows = aggregate(results_list, tuple(Column(s, "map") for s in SETTINGS))
    swept = [r for r in rows if r.alpha is not None]
    if not swept:
        raise UsageError("no result has an alpha (training.alpha): nothing to plot against alpha")
    groups = list(dict.fromkeys(r.group for r in swept))
    fig = _new_figure(5.2 * len(groups), 4.2)
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, group in zip(axes, groups):
        _draw_sweep_panel(ax, group, swept, rows)
    if any(r.alpha is None for r in rows):
        fig.suptitle("dotted: untuned base model; error bars: ± 1 sample std over seeds", fontsize=9)
    return _save_png(fig, Path(path))
