"""The per-language figure of the low-resource study: languages along x, sorted by the lead system's result, its
bars coloured by resource group (trained / pretrained / unseen / unlisted), the other systems as markers on the
same languages. Drawn with matplotlib's Agg canvas (no pyplot state), written atomically.

Example::

    plot_language_results({"hybrid-a0.5": {"de": 0.9, "yo": 0.3}, "xx": {"de": 0.88, "yo": 0.25}},
                          {"de": "trained", "yo": "unseen"}, "languages-tatoeba.png", lead="hybrid-a0.5")
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from hybrid_plugin.analysis.plots import _new_figure, _save_png
from hybrid_plugin.analysis.resource_groups import GROUPS
from hybrid_plugin.errors import UsageError

__all__ = ["GROUP_COLORS", "language_order", "plot_language_results"]

GROUP_COLORS = {"trained": "tab:blue", "pretrained": "tab:green", "unseen": "tab:red", "unlisted": "tab:gray"}
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def language_order(values: Mapping[str, float]) -> list[str]:
    """Languages sorted by value, highest first (ties by code, so the order is stable).

    Example::

        >>> language_order({"yo": 0.2, "de": 0.9, "sw": 0.2})
        ['de', 'sw', 'yo']
    """
    return sorted(values, key=lambda lang: (-values[lang], lang))


def plot_language_results(systems: Mapping[str, Mapping[str, float]], groups: Mapping[str, str],
                          path: str | Path, *, lead: str, title: str = "", ylabel: str = "value") -> Path:
    """Draw one value per language: ``lead``'s as bars coloured by resource group, sorted from best to worst,
    every other system's as markers.

    Args:
        systems (dict): system name -> language -> value (a fraction in [0, 1] or any number).
        groups (dict): language -> resource group (:data:`~hybrid_plugin.analysis.resource_groups.GROUPS`).
        path (str | Path): the ``.png`` to write.
        lead (str): the system whose values order the languages and make the bars.
        title (str), ylabel (str): the labels.

    Returns:
        Path: the file written.

    Raises:
        UsageError: ``lead`` is not among ``systems`` or has no value, a language without a group or with an
            unknown one.
    """
    if lead not in systems or not systems[lead]:
        raise UsageError(f"the lead system {lead!r} has no values (systems: {', '.join(systems) or 'none'})")
    order = language_order(systems[lead])
    for lang in order:
        if groups.get(lang) not in GROUPS:
            raise UsageError(f"language {lang!r} has group {groups.get(lang)!r}; expected one of {', '.join(GROUPS)}")
    fig = _new_figure(max(6.0, 0.28 * len(order) + 3.5), 3.6)  # room for the legend on the right
    ax = fig.add_subplot()
    x = list(range(len(order)))
    ax.bar(x, [systems[lead][lang] for lang in order], color=[GROUP_COLORS[groups[lang]] for lang in order],
           width=0.8)
    others = [name for name in systems if name != lead]
    for marker, name in zip(_MARKERS * (len(others) // len(_MARKERS) + 1), others):
        shown = [(i, systems[name][lang]) for i, lang in enumerate(order) if lang in systems[name]]
        if shown:
            ax.plot([i for i, _ in shown], [v for _, v in shown], linestyle="none", marker=marker, markersize=4,
                    color="black", alpha=0.7, label=name)
    ax.set_xticks(x, order, rotation=90, fontsize=7 if len(order) > 40 else 9)
    for tick, lang in zip(ax.get_xticklabels(), order):
        tick.set_color(GROUP_COLORS[groups[lang]])
    from matplotlib.patches import Patch  # matplotlib is heavy: imported with the figure (see plots._new_figure)

    present = [g for g in GROUPS if any(groups[lang] == g for lang in order)]
    handles, _ = ax.get_legend_handles_labels()
    handles = [Patch(facecolor="white", edgecolor="black", label=f"{lead} (bars)"), *handles]
    handles += [Patch(color=GROUP_COLORS[g], label=g) for g in present]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"per language ({lead})", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return _save_png(fig, Path(path))
