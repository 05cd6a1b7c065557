"""mAP against severity (PNG): one figure per setting (mono, cross or multi), one panel per perturbation kind (and
the attack, by budget), x = the kind's level with the clean queries at 0, one line per model, ±std over seeds as
error bars where there are several. Drawn with matplotlib's Agg canvas, without pyplot's global state.

Example::

    curves = [SeverityCurve("typos", "xx", (0, 0.05, 0.1), (0.80, 0.74, 0.66)),
              SeverityCurve("typos", "hybrid-a0.5", (0, 0.05, 0.1), (0.80, 0.75, 0.69), (None, 0.01, 0.02))]
    plot_severity(curves, "severity-cross.png", title="xquad-r, cross-lingual")
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hybrid_plugin.analysis.plots import _new_figure, _save_png
from hybrid_plugin.errors import UsageError

__all__ = ["SeverityCurve", "plot_severity"]

_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


@dataclass(frozen=True)
class SeverityCurve:
    """One model's line in one panel: mAP (``values``) at each level, and its std over seeds (None: one seed).

    Raises:
        UsageError: lengths that differ, no points, or a value that is not a finite number.
    """

    panel: str
    model: str
    levels: tuple[float, ...]
    values: tuple[float, ...]
    stds: tuple[float | None, ...] | None = None

    def __post_init__(self) -> None:
        if not self.levels or len(self.levels) != len(self.values) or (
                self.stds is not None and len(self.stds) != len(self.levels)):
            raise UsageError(f"severity curve {self.panel}/{self.model}: levels, values and stds must have the "
                             f"same non-zero length, got {len(self.levels)}, {len(self.values)} and "
                             f"{'–' if self.stds is None else len(self.stds)}")
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (*self.levels, *self.values)):
            raise UsageError(f"severity curve {self.panel}/{self.model}: levels and values must be finite numbers")


def plot_severity(curves: Sequence[SeverityCurve], path: str | Path, *, title: str, ylabel: str = "mAP",
                  xlabels: Mapping[str, str] | None = None) -> Path:
    """Draw the panels of ``curves`` side by side (panels in order of first appearance) and save a PNG.

    Args:
        curves: the lines; each panel holds the curves with its name.
        path: the PNG to write (atomically).
        title: the figure's title (e.g. the evaluation set and setting).
        ylabel: the y axis (default "mAP").
        xlabels: the x axis of each panel (default: "level"; e.g. ``{"attack": "edits per query"}``).

    Returns:
        Path: the file written.

    Raises:
        UsageError: no curves.
    """
    if not curves:
        raise UsageError("no severity curves to plot")
    panels = list(dict.fromkeys(c.panel for c in curves))
    models = list(dict.fromkeys(c.model for c in curves))
    columns = min(4, len(panels))
    rows = -(-len(panels) // columns)
    fig = _new_figure(3.2 * columns + 1.6, 2.8 * rows + 0.6)
    axes = fig.subplots(rows, columns, squeeze=False)  # own y range: the attack's queries are a subset
    for ax, panel in zip(axes.ravel(), panels):
        for curve in (c for c in curves if c.panel == panel):
            index = models.index(curve.model)
            errors = None if curve.stds is None or all(s is None for s in curve.stds) else \
                [0.0 if s is None else s for s in curve.stds]
            ax.errorbar(curve.levels, curve.values, yerr=errors, label=curve.model, capsize=3,
                        marker=_MARKERS[index % len(_MARKERS)], color=f"C{index % 10}", linewidth=1.3, markersize=4)
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel((xlabels or {}).get(panel, "level"), fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    legend = {}
    for ax in axes.ravel()[:len(panels)]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    fig.legend(list(legend.values()), list(legend), loc="outside right upper", fontsize=8)
    fig.suptitle(title, fontsize=11)
    return _save_png(fig, Path(path))
