"""The domain study's summary: a row per (domain, system) -- nDCG@10, AP, R@100, MRR@10, bias, nDCG@10 per
language group, the adaptation's cost --, paired tests, the Markdown table and the plot
(:class:`DomainSummary`, one JSON form).

Tests (paired randomisation on per-query nDCG@10, 10,000 sign flips): hybrid vs X-X and vs X-Y zero-shot; each
adapted model vs the model it was adapted from; the adapted hybrid vs the adapted baseline.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hybrid_plugin.analysis.plots import _new_figure, _save_png
from hybrid_plugin.analysis.significance import paired_randomization_test
from hybrid_plugin.data.languages import resource_level
from hybrid_plugin.domain.settings import ADAPTATIONS, DOMAINS, DomainSettings
from hybrid_plugin.errors import DataError
from hybrid_plugin.files import atomic_write

__all__ = ["CELL_FILE", "DomainRow", "DomainSummary", "DomainTest", "command_line", "summarise", "summary_domains",
           "summary_markdown", "write_summary"]

CELL_FILE = "cell.json"
MEASURE = "nDCG@10"
_SHOWN = ("nDCG@10", "AP@1000", "R@100", "RR@10")
_GROUPS = ("trained", "pretrained", "unseen")
_TRIALS = 10_000


@dataclass(frozen=True)
class DomainRow:
    """One system on one domain (``adaptation``/``adapted_from`` None for a zero-shot model)."""

    domain: str
    system: str
    adaptation: str | None
    adapted_from: str | None
    values: dict[str, float]
    bias: float | None
    groups: dict[str, float]
    queries: int
    cost: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DomainTest:
    """A paired test of ``a`` against ``b`` on one domain (``mean_diff`` > 0: ``a`` is better)."""

    domain: str
    a: str
    b: str
    mean_diff: float
    p_value: float
    n: int


@dataclass
class DomainSummary:
    """The study's summary: settings, rows, tests, the baseline chosen per domain and the command."""

    settings: dict[str, Any]
    rows: list[DomainRow]
    tests: list[DomainTest]
    chosen: dict[str, str]
    command: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "domain-summary", "settings": self.settings, "command": self.command, "chosen": self.chosen,
                "rows": [asdict(r) for r in self.rows], "tests": [asdict(t) for t in self.tests]}


def command_line(settings: DomainSettings, domains: tuple[str, ...] | None = None) -> str:
    """The ``hybrid-plugin domain`` command that reproduces ``settings`` (on ``domains`` instead of its own)."""
    parts = ["hybrid-plugin domain", f"--study {settings.study}", f"--out {settings.out}",
             f"--data-root {settings.data_root}"]
    parts += ["--quick"] if settings.quick else []
    parts.append(f"--domains {','.join(settings.domains if domains is None else domains)}")
    parts.append(f"--adaptations {','.join(settings.adaptations)}")
    return " ".join(parts)


def summary_domains(settings: DomainSettings) -> tuple[str, ...]:
    """The domains a summary covers: those of ``settings`` and every domain with cells in ``settings.out``
    (earlier runs of a study that added domains), in the order of :data:`DOMAINS`.

    Example::

        summary_domains(DomainSettings(study="outputs/reproduce-quick", out="outputs/domain-quick",
                                       domains=("conversational",)))     # ('news', 'african-qa', 'conversational')
    """
    return tuple(d for d in DOMAINS if d in settings.domains or (settings.out / "cells" / d).is_dir())


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read a cell of the study ({exc})", path) from None


def _groups(per_query: dict[str, dict[str, float]], training: list[str]) -> dict[str, float]:
    by_group: dict[str, list[float]] = {}
    for qid, values in per_query.items():
        group = resource_level(qid.split(".", 1)[0], training).group
        by_group.setdefault(group, []).append(values[MEASURE])
    return {g: sum(v) / len(v) for g, v in sorted(by_group.items())}


def _cells(out: Path, domain: str) -> list[tuple[DomainRow, dict[str, float]]]:
    found = []
    for folder in sorted((out / "cells" / domain).glob("*")):
        if not (folder / CELL_FILE).is_file():
            continue
        cell, beir = _read(folder / CELL_FILE), _read(folder / "beir.json")
        all_cell = beir["cells"]["all"]
        row = DomainRow(domain, cell["system"], cell.get("adaptation"), cell.get("adapted_from"),
                        {m: all_cell["values"][m] for m in _SHOWN}, all_cell.get("bias"),
                        _groups(beir["per_query"], cell["training_languages"]), all_cell["queries"],
                        cell.get("cost", {}))
        found.append((row, {q: v[MEASURE] for q, v in beir["per_query"].items()}))
    return sorted(found, key=lambda pair: _order(pair[0]))


def _order(row: DomainRow) -> tuple[int, int, int]:
    """Zero-shot rows first (base, X-X, X-Y, hybrid), then the adapted hybrid, then the adapted baseline, each
    adaptation in the order of :data:`~hybrid_plugin.domain.settings.ADAPTATIONS`."""
    def config(name: str) -> int:
        return {"base": 0, "xx": 1, "xy": 2}.get(name, 3)

    if row.adaptation is None:
        return 0, config(row.system), 0
    adapted = ADAPTATIONS.index(row.adaptation) if row.adaptation in ADAPTATIONS else len(ADAPTATIONS)
    return 1, -config(row.adapted_from or ""), adapted


def _pairs(rows: list[DomainRow]) -> list[tuple[str, str]]:
    systems = {r.system for r in rows}
    hybrid = next((s for s in systems if s.startswith("hybrid") and "+" not in s), None)
    pairs = [(hybrid, b) for b in ("xx", "xy") if hybrid and b in systems]
    pairs += [(r.system, r.adapted_from) for r in rows if r.adapted_from in systems]
    adapted = [r for r in rows if r.adaptation and r.adapted_from == hybrid]
    pairs += [(r.system, o.system) for r in adapted for o in rows
              if o.adaptation == r.adaptation and o.adapted_from not in (hybrid, None)]
    return pairs


def summarise(settings: DomainSettings) -> DomainSummary:
    """The summary of the study in ``settings.out`` (what is done so far, on every domain it has cells of:
    :func:`summary_domains`)."""
    rows, tests, chosen = [], [], {}
    domains = summary_domains(settings)
    for domain in domains:
        cells = _cells(settings.out, domain)
        per_query = {row.system: values for row, values in cells}
        domain_rows = [row for row, _ in cells]
        rows += domain_rows
        for a, b in _pairs(domain_rows):
            result = paired_randomization_test(per_query[a], per_query[b], trials=_TRIALS, seed=0)
            tests.append(DomainTest(domain, a, b, result.mean_diff, result.p_value, result.n))
        adapted = {r.adapted_from for r in domain_rows if r.adapted_from and not r.adapted_from.startswith("hybrid")}
        if adapted:
            chosen[domain] = sorted(adapted)[0]
    plan = {**settings.plan(), "domains": list(domains)}
    return DomainSummary(plan, rows, tests, chosen, command_line(settings, domains))


def _fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def summary_markdown(summary: DomainSummary) -> str:
    """The study as Markdown: a table per domain, then the tests."""
    lines = ["# Domain transfer", "", f"`{summary.command}`", ""]
    head = ["system", *_SHOWN, "bias", *(f"{MEASURE} {g}" for g in _GROUPS), "queries", "s/step"]
    for domain in dict.fromkeys(r.domain for r in summary.rows):
        lines += [f"## {domain}: {DOMAINS[domain].description}", ""]
        if domain in summary.chosen:
            lines += [f"Baseline adapted (better on the adaptation side): {summary.chosen[domain]}", ""]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in (r for r in summary.rows if r.domain == domain):
            cells = [r.system, *(_fmt(r.values[m]) for m in _SHOWN), _fmt(r.bias, 1),
                     *(_fmt(r.groups.get(g)) for g in _GROUPS), str(r.queries),
                     _fmt(r.cost.get("seconds_per_step"), 2)]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Paired tests (per-query nDCG@10, randomisation, 10,000 sign flips)", "",
              "| domain | a | b | mean a − b | p | queries |", "|---|---|---|---|---|---|"]
    lines += [f"| {t.domain} | {t.a} | {t.b} | {t.mean_diff:+.4f} | {t.p_value:.3g} | {t.n} |" for t in summary.tests]
    return "\n".join(lines) + "\n"


def plot_domains(summary: DomainSummary, path: Path) -> Path:
    """Grouped bars: nDCG@10 of each system (colour) on each domain (x)."""
    domains = list(dict.fromkeys(r.domain for r in summary.rows))
    systems = list(dict.fromkeys(r.system for r in summary.rows))
    fig = _new_figure(max(8.0, 2.0 * len(domains) + 0.3 * len(systems)), 4.0)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(systems))
    for k, system in enumerate(systems):
        values = {r.domain: r.values[MEASURE] for r in summary.rows if r.system == system}
        xs = [i + k * width for i, d in enumerate(domains) if d in values]
        ax.bar(xs, [values[d] for d in domains if d in values], width, label=system)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(domains))], domains)
    values = [r.values[MEASURE] for r in summary.rows]
    ax.set_ylim(max(0.0, min(values) - 0.03), min(1.0, max(values) + 0.01))  # the differences, not the levels
    ax.set_ylabel(f"{MEASURE} (axis cut)")
    ax.set_title("Domain transfer: zero-shot and adapted models")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save_png(fig, path)


def write_summary(summary: DomainSummary, out: Path) -> None:
    """``summary.json``, ``summary.md`` and ``domains.png`` in ``out``."""
    with atomic_write(out / "summary.json") as handle:
        handle.write(json.dumps(summary.to_dict(), indent=1) + "\n")
    with atomic_write(out / "summary.md") as handle:
        handle.write(summary_markdown(summary))
    if summary.rows:
        plot_domains(summary, out / "domains.png")
