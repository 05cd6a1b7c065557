"""Reports of evaluation results: Markdown tables, per-pair heatmaps, leaderboards and the α sweep plot.

Every function takes the results dictionaries that ``hybrid-plugin evaluate`` writes to ``OUT/results.json``
(read them with :func:`load_results`)::

    {"model": {"name": ...}, "dataset": {"name": ..., "languages": [...], "limit": ...},
     "map": {"mono": m, "cross": c, "multi": u}, "bias": b,
     "measures": {"mono": {"map", "R@1", "R@10", "nDCG@10", "AP@1000"}, "cross": {...}, "multi": {...}},
     "pairs": {"en-de": {"map": ..., ...}, "en-en": {...}, ...},
     "multi_by_language": {"en": {"map": ..., "bias": ..., ...}, ...},
     "per_query": {"en-de": {qid: ap}, "multi:en": {qid: ap}},           # optional
     "training": {"sampling": "hybrid", "alpha": 0.5, "seed": 1, ...}}   # optional (absent: untuned model)

:data:`PAPER_ROWS` holds the figures of arXiv 2408.10536 (Table 1: mAP; Table 2: language bias) that
:func:`leaderboard` shows for reference.

Example::

    results = load_results("runs/hybrid/results.json")
    write_markdown_table(results, "runs/hybrid/results.md")
    plot_pair_heatmap(results, "runs/hybrid/pairs.png")
    board = leaderboard([load_results(p) for p in paths])
    print(board.to_markdown())
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from hybrid_plugin.errors import DataError, UsageError
from hybrid_plugin.pyserini_io import atomic_write

__all__ = [
    "ALL_COLUMNS",
    "DEFAULT_COLUMNS",
    "PAPER_ROWS",
    "Column",
    "Leaderboard",
    "LeaderboardRow",
    "PaperRow",
    "leaderboard",
    "load_results",
    "plot_alpha_sweep",
    "plot_pair_heatmap",
    "split_pair",
    "write_markdown_table",
]

logger = logging.getLogger(__name__)

Setting = Literal["mono", "cross", "multi"]
Sampling = Literal["xx", "xy", "hybrid"]

SETTINGS: tuple[Setting, ...] = ("mono", "cross", "multi")
MEASURES: tuple[str, ...] = ("map", "R@1", "R@10", "nDCG@10", "AP@1000")
SAMPLING_NAMES = {"xx": "X-X", "xy": "X-Y", "hybrid": "hybrid", "base": "untuned"}
PAPER = "arXiv 2408.10536"


# --------------------------------------------------------------------------------------------------------------
# The paper's figures


class PaperRow(NamedTuple):
    """One row of the paper's Table 1 (mAP over the full ranking) and Table 2 (language bias, multi setting)."""

    base: Literal["XLM-R", "LaBSE"]
    sampling: Sampling
    dataset: Literal["xquad-r", "mlqa-r"]
    mono: float
    cross: float
    multi: float
    bias: float

    @property
    def alpha(self) -> float:
        """The share of X-X batches: 1 for X-X, 0 for X-Y, 0.5 for hybrid (the paper's best)."""
        return {"xx": 1.0, "xy": 0.0, "hybrid": 0.5}[self.sampling]


def _paper_rows() -> tuple[PaperRow, ...]:
    # base, sampling, (XQuAD-R mono, cross, multi), (MLQA-R mono, cross, multi), (bias XQuAD-R, bias MLQA-R)
    table = [
        ("XLM-R", "xx", (0.792, 0.674, 0.547), (0.648, 0.584, 0.473), (410, 288)),
        ("XLM-R", "xy", (0.755, 0.700, 0.593), (0.626, 0.620, 0.508), (295, 227)),
        ("XLM-R", "hybrid", (0.798, 0.705, 0.593), (0.648, 0.623, 0.512), (287, 227)),
        ("LaBSE", "xx", (0.808, 0.752, 0.652), (0.681, 0.656, 0.550), (262, 225)),
        ("LaBSE", "xy", (0.801, 0.762, 0.679), (0.671, 0.677, 0.576), (225, 198)),
        ("LaBSE", "hybrid", (0.817, 0.767, 0.682), (0.686, 0.681, 0.579), (221, 195)),
    ]
    rows = []
    for base, sampling, xquad, mlqa, (bias_xquad, bias_mlqa) in table:
        rows.append(PaperRow(base, sampling, "xquad-r", *xquad, float(bias_xquad)))
        rows.append(PaperRow(base, sampling, "mlqa-r", *mlqa, float(bias_mlqa)))
    return tuple(rows)


PAPER_ROWS: tuple[PaperRow, ...] = _paper_rows()
"""Table 1 / Table 2 of arXiv 2408.10536 (DESIGN.md), one record per base × sampling × dataset."""


# --------------------------------------------------------------------------------------------------------------
# Loading and validating results


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _require(mapping: Any, key: str, where: str, path: Path, kind: type | None = None) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise DataError(f"missing required field {where}{key!r}", path)
    value = mapping[key]
    if kind is float:
        if not _is_number(value):
            raise DataError(f"field {where}{key!r} must be a finite number but got {value!r}", path)
    elif kind is not None and not isinstance(value, kind):
        raise DataError(f"field {where}{key!r} must be a {kind.__name__} but got {type(value).__name__}", path)
    return value


def load_results(path: str | Path) -> dict[str, Any]:
    """Read and check a results file written by ``hybrid-plugin evaluate``.

    Args:
        path (str | Path): ``results.json``, or the folder that holds it.

    Returns:
        The results dictionary, unchanged.

    Raises:
        DataError: the file is missing, is not JSON, or lacks one of the fields that the reports need
            (``model.name``, ``dataset.name``, ``map.mono|cross|multi``, ``bias``, ``pairs.*.map``,
            ``multi_by_language.*.map``); the message names the file and the field.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    if not path.is_file():
        raise DataError("results file not found", path)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"not a valid JSON file ({exc})", path) from None
    if not isinstance(results, dict):
        raise DataError(f"expected a JSON object but got {type(results).__name__}", path)
    _require(_require(results, "model", "", path, dict), "name", "model.", path, str)
    _require(_require(results, "dataset", "", path, dict), "name", "dataset.", path, str)
    maps = _require(results, "map", "", path, dict)
    for setting in SETTINGS:
        _require(maps, setting, "map.", path, float)
    _require(results, "bias", "", path, float)
    pairs = _require(results, "pairs", "", path, dict)
    if not pairs:
        raise DataError("field 'pairs' is empty", path)
    for key, entry in pairs.items():
        _require(entry, "map", f"pairs.{key}.", path, float)
    by_language = _require(results, "multi_by_language", "", path, dict)
    for lang, entry in by_language.items():
        _require(entry, "map", f"multi_by_language.{lang}.", path, float)
    for name in ("measures", "per_query", "training"):
        if name in results and not isinstance(results[name], dict):
            raise DataError(f"field {name!r} must be an object but got {type(results[name]).__name__}", path)
    return results


# --------------------------------------------------------------------------------------------------------------
# Helpers over one results dictionary


def _languages(results: Mapping[str, Any]) -> list[str]:
    """Languages in the dataset's order, else in order of first appearance in ``pairs``."""
    langs = list(results.get("dataset", {}).get("languages") or [])
    if not langs:
        for key in results["pairs"]:
            for lang in split_pair(key, ()):
                if lang not in langs:
                    langs.append(lang)
    return langs


def split_pair(key: str, languages: Iterable[str]) -> tuple[str, str]:
    """Split a setting key ``"<query>-<pool>"`` (``"en-de"``, or ``"zh-cn-en"`` when ``languages`` has ``zh-cn``).

    Raises:
        DataError: the key is not two known languages joined by ``-``.
    """
    known = set(languages)
    cuts = [i for i, char in enumerate(key) if char == "-"]
    candidates = [(key[:i], key[i + 1:]) for i in cuts]
    if known:
        matches = [c for c in candidates if c[0] in known and c[1] in known]
        if len(matches) == 1:
            return matches[0]
    elif len(candidates) == 1 and all(candidates[0]):
        return candidates[0]
    raise DataError(f"cannot read setting {key!r} as <query language>-<pool language>"
                    + (f" (languages: {sorted(known)})" if known else ""))


def _measure(results: Mapping[str, Any], setting: str, measure: str) -> float | None:
    """The macro mean of ``measure`` in ``setting``; ``measure="bias"`` is the language bias (multi only)."""
    if measure == "bias":
        return float(results["bias"]) if setting == "multi" else None
    if measure == "map":
        return float(results["map"][setting])
    value = results.get("measures", {}).get(setting, {}).get(measure)
    return float(value) if _is_number(value) else None


def _fmt(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(header: Sequence[str], rows: Iterable[Sequence[Any]], align: Sequence[str] | None = None) -> str:
    align = align or ["l"] + ["r"] * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _title(results: Mapping[str, Any]) -> str:
    dataset = results["dataset"]
    name = dataset["name"]
    if dataset.get("limit"):
        name += f" (first {dataset['limit']} items)"
    return f"{results['model']['name']} on {name}"


def _pair_matrix(results: Mapping[str, Any]) -> tuple[list[str], list[list[float | None]]]:
    langs = _languages(results)
    index = {lang: i for i, lang in enumerate(langs)}
    matrix: list[list[float | None]] = [[None] * len(langs) for _ in langs]
    for key, entry in results["pairs"].items():
        query, pool = split_pair(key, langs)
        matrix[index[query]][index[pool]] = float(entry["map"])
    return langs, matrix


def write_markdown_table(results: Mapping[str, Any], path: str | Path) -> Path:
    """Write one results file as Markdown: summary, per-pair mAP matrix, and the multilingual pool by language.

    Args:
        results (dict): a results dictionary (see :func:`load_results`).
        path (str | Path): the ``.md`` file to write (atomically: a temporary file renamed over it).

    Returns:
        The path written.
    """
    path = Path(path)
    lines = [f"# {_title(results)}", ""]
    training = results.get("training")
    if training:
        sampling = SAMPLING_NAMES.get(training.get("sampling"), training.get("sampling"))
        details = ", ".join(f"{k} {training[k]}" for k in ("alpha", "seed", "train_dataset") if k in training)
        lines += [f"Trained with {sampling} batches ({details}).", ""]
    lines += ["## Summary", "", "Full-ranking mAP (the paper's figure); R@k, nDCG@10 and AP@1000 from the TREC runs "
              "(depth 1000); macro means over settings.", ""]
    rows = [[setting] + [_fmt(_measure(results, setting, m)) for m in MEASURES] for setting in SETTINGS]
    lines += [_md_table(["setting", "mAP", "R@1", "R@10", "nDCG@10", "AP@1000"], rows), ""]
    lines += [f"Language bias (multi, mean rank distance between a query's relevant candidates; lower is better): "
              f"**{results['bias']:.1f}**", ""]

    langs, matrix = _pair_matrix(results)
    lines += ["## mAP by language pair", "", "Rows: query language; columns: pool language; the diagonal is "
              "monolingual. Last column: mean over the row's cross-lingual pools.", ""]
    rows = []
    for i, lang in enumerate(langs):
        cross = [v for j, v in enumerate(matrix[i]) if j != i and v is not None]
        cells = [f"**{_fmt(v)}**" if i == j and v is not None else _fmt(v) for j, v in enumerate(matrix[i])]
        rows.append([lang, *cells, _fmt(statistics.fmean(cross) if cross else None)])
    lines += [_md_table(["query \\ pool", *langs, "cross mean"], rows), ""]

    by_language = results["multi_by_language"]
    lines += ["## Multilingual pool by query language", "", "Every query against one pool of all languages.", ""]
    rows = []
    order = [lang for lang in langs if lang in by_language] + [lang for lang in by_language if lang not in langs]
    for lang in order:
        entry = by_language[lang]
        bias = entry.get("bias")
        rows.append([lang, *(_fmt(entry.get(m)) if _is_number(entry.get(m)) else "–" for m in MEASURES),
                     f"{bias:.1f}" if _is_number(bias) else "–"])
    lines += [_md_table(["query", "mAP", "R@1", "R@10", "nDCG@10", "AP@1000", "bias"], rows), ""]

    with atomic_write(path) as f:
        f.write("\n".join(lines))
    return path


def _new_figure(width: float, height: float):
    # Figure + FigureCanvasAgg directly: the Agg backend, no pyplot global state, no change to the user's backend.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save_png(fig, path: Path, dpi: int = 150) -> Path:
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=dpi)
    return path


def plot_pair_heatmap(results: Mapping[str, Any], path: str | Path) -> Path:
    """Draw the per-pair mAP matrix (query language × pool language) as an annotated heatmap PNG.

    Args:
        results (dict): a results dictionary (see :func:`load_results`).
        path (str | Path): the ``.png`` file to write (atomically).

    Returns:
        The path written.
    """
    import numpy as np

    langs, matrix = _pair_matrix(results)
    values = np.array([[np.nan if v is None else v for v in row] for row in matrix], dtype=float)
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
    for i in range(n):
        for j in range(n):
            value = values[i, j]
            if not np.isfinite(value):
                continue
            r, g, b, _ = cmap(image.norm(value))
            color = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
            ax.text(j, i, f"{value:.3f}".lstrip("0") if value < 1 else "1.00", ha="center", va="center",
                    color=color, fontsize=fontsize, fontweight="bold" if i == j else "normal")
    ax.set_xticks(range(n), labels=langs)
    ax.set_yticks(range(n), labels=langs)
    ax.set_xlabel("pool (candidate) language")
    ax.set_ylabel("query language")
    ax.tick_params(top=True, labeltop=True, bottom=False, labelbottom=False)
    ax.xaxis.set_label_position("top")
    maps = results["map"]
    ax.set_title(f"{_title(results)}\nmAP per pair — mono {maps['mono']:.3f}, cross {maps['cross']:.3f}, "
                 f"multi {maps['multi']:.3f}", fontsize=10, pad=10)
    fig.colorbar(image, ax=ax, shrink=0.8, label="mAP (full ranking)")
    return _save_png(fig, Path(path))


# --------------------------------------------------------------------------------------------------------------
# Several results: configurations, aggregation over seeds, leaderboard


class Column(NamedTuple):
    """A leaderboard column: a measure's macro mean in a setting (``measure="bias"`` only with ``"multi"``)."""

    setting: Setting
    measure: str

    @property
    def header(self) -> str:
        if self.measure == "bias":
            return "bias"
        name = "mAP" if self.measure == "map" else self.measure
        return f"{self.setting} {name}"

    @property
    def key(self) -> str:
        """The CSV column name: ``mono_map``, ``cross_R@1``, ``bias``."""
        return "bias" if self.measure == "bias" else f"{self.setting}_{self.measure}"


DEFAULT_COLUMNS: tuple[Column, ...] = (
    Column("mono", "map"), Column("cross", "map"), Column("multi", "map"),
    Column("mono", "R@1"), Column("cross", "R@1"), Column("cross", "R@10"),
    Column("multi", "bias"),
)
"""The leaderboard's Markdown columns: mAP in the three settings (the paper's Table 1), R@1 (mono, cross),
R@10 (cross) and the language bias (Table 2). R@k is left out for multi, where a query has one relevant
candidate per language and R@1 cannot exceed 1/#languages."""

ALL_COLUMNS: tuple[Column, ...] = (
    *(Column(s, m) for s in SETTINGS for m in MEASURES), Column("multi", "bias"),
)
"""Every measure in every setting (what :meth:`Leaderboard.to_csv` writes by default)."""

# training keys that, besides base model, sampling and alpha, define a configuration (seeds aside)
_CONFIG_KEYS = ("train_dataset", "train_languages", "steps", "max_steps", "epochs", "batch_size", "learning_rate",
                "train_limit", "hard_negatives")


class Configuration(NamedTuple):
    dataset: str
    limit: int | None
    model: str
    sampling: str
    alpha: float | None
    extra: tuple[tuple[str, str], ...]


def _configuration(results: Mapping[str, Any]) -> Configuration:
    training = results.get("training") or {}
    model = training.get("base_model") or training.get("base") or results["model"]["name"]
    sampling = training.get("sampling") or "base"
    alpha = training.get("alpha")
    if alpha is None and sampling in ("xx", "xy"):
        alpha = 1.0 if sampling == "xx" else 0.0
    extra = tuple((k, json.dumps(training[k], sort_keys=True)) for k in _CONFIG_KEYS if k in training)
    return Configuration(results["dataset"]["name"], results["dataset"].get("limit") or None, str(model), sampling,
                         None if alpha is None else float(alpha), extra)


def _mean_std(values: Sequence[float]) -> tuple[float, float | None]:
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else None)


@dataclass(frozen=True)
class LeaderboardRow:
    """One leaderboard row: a configuration's results, aggregated over seeds, or one of the paper's rows.

    ``values`` maps a column's key to ``(mean, sample std or None when n = 1)``, or to ``None`` when absent.
    """

    source: Literal["ours", "paper"]
    dataset: str
    limit: int | None
    model: str
    sampling: str
    alpha: float | None
    seeds: tuple[Any, ...]
    n: int
    values: dict[str, tuple[float, float | None] | None]
    train_dataset: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def group(self) -> str:
        return self.dataset + (f" (first {self.limit} items)" if self.limit else "")


def _aggregate(results_list: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> list[LeaderboardRow]:
    groups: dict[Configuration, list[Mapping[str, Any]]] = {}
    for results in results_list:
        groups.setdefault(_configuration(results), []).append(results)
    rows = []
    for config, members in groups.items():
        values: dict[str, tuple[float, float | None] | None] = {}
        for column in columns:
            got = [_measure(r, column.setting, column.measure) for r in members]
            values[column.key] = None if any(v is None for v in got) else _mean_std(got)
        seeds = tuple((r.get("training") or {}).get("seed") for r in members)
        training = members[0].get("training") or {}
        rows.append(LeaderboardRow("ours", config.dataset, config.limit, config.model, config.sampling, config.alpha,
                                   tuple(s for s in seeds if s is not None), len(members), values,
                                   training.get("train_dataset"),
                                   tuple(kv for kv in config.extra if kv[0] != "train_dataset")))
    return rows


def _paper_row(row: PaperRow, columns: Sequence[Column]) -> LeaderboardRow:
    figures = {"mono_map": row.mono, "cross_map": row.cross, "multi_map": row.multi, "bias": row.bias}
    values = {c.key: (figures[c.key], None) if c.key in figures else None for c in columns}
    return LeaderboardRow("paper", row.dataset, None, row.base, row.sampling, row.alpha, (), 1, values)


@dataclass(frozen=True)
class Leaderboard:
    """Several results side by side, grouped by dataset, with the paper's rows for reference.

    Build it with :func:`leaderboard`.
    """

    rows: tuple[LeaderboardRow, ...]
    columns: tuple[Column, ...] = DEFAULT_COLUMNS
    csv_columns: tuple[Column, ...] = ALL_COLUMNS

    def groups(self) -> dict[str, list[LeaderboardRow]]:
        """Rows by table heading (dataset, and the item limit if any), in order."""
        out: dict[str, list[LeaderboardRow]] = {}
        for row in self.rows:
            out.setdefault(row.group, []).append(row)
        return out

    def to_markdown(self) -> str:
        """The leaderboard as Markdown: one table per dataset; values are mean ± sample std over seeds."""
        ours = [row for row in self.rows if row.source == "ours"]
        show_train = any(row.train_dataset for row in ours)
        # training settings that differ between rows (else two rows would look alike)
        keys = {k for row in ours for k, _ in row.extra}
        varying = sorted(k for k in keys if len({dict(row.extra)[k] for row in ours if k in dict(row.extra)}) > 1)
        header = ["model", "sampling", "α", *(["trained on"] if show_train else []),
                  *(["settings"] if varying else []), "seeds", "n", *(c.header for c in self.columns)]
        align = ["l", "l", "r", *(["l"] if show_train else []), *(["l"] if varying else []), "l", "r",
                 *["r"] * len(self.columns)]
        parts = []
        for group, rows in self.groups().items():
            body = []
            for row in rows:
                alpha = "–" if row.alpha is None else f"{row.alpha:g}"
                extra = dict(row.extra)
                middle = ([row.train_dataset or "–"] if show_train else []) + (
                    [", ".join(f"{k}={extra[k]}" for k in varying if k in extra) or "–"] if varying else [])
                if row.source == "paper":
                    ident = [f"*{row.model} (paper)*", SAMPLING_NAMES[row.sampling], alpha, *middle, "–", "–"]
                else:
                    ident = [row.model, SAMPLING_NAMES.get(row.sampling, row.sampling), alpha, *middle,
                             ",".join(str(s) for s in row.seeds) or "–", str(row.n)]
                cells = []
                for column in self.columns:
                    value = row.values.get(column.key)
                    digits = 1 if column.measure == "bias" else 3 if row.source == "paper" else 4
                    if value is None:
                        cells.append("–")
                    elif row.source == "paper":
                        cells.append(f"*{value[0]:.{digits}f}*")
                    else:
                        mean, std = value
                        cells.append(f"{mean:.{digits}f}" + ("" if std is None else f" ± {std:.{digits}f}"))
                body.append(ident + cells)
            parts += [f"## {group}", "", _md_table(header, body, align), ""]
        notes = ["Values: macro mean over settings; with n > 1 seeds, mean ± sample standard deviation. "
                 "mAP over the full ranking; bias: mean rank distance between a query's relevant candidates in "
                 "the multilingual pool (lower is better)."]
        if any(row.source == "paper" for row in self.rows):
            notes.append(f"*Italic rows are the paper's published figures* ({PAPER}, Table 1 mAP, Table 2 bias; "
                         "XLM-R and LaBSE bases fine-tuned in the paper's setup), shown for reference only: they are "
                         "not produced by this code; their models and training data differ from ours.")
        return "\n".join(parts) + "\n" + "\n\n".join(notes) + "\n"

    def to_csv(self) -> str:
        """The leaderboard as CSV: one line per row, ``<column>`` (mean) and ``<column>_std`` per measure."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["source", "dataset", "limit", "model", "sampling", "alpha", "train_dataset", "settings",
                         "seeds", "n", *(name for c in self.csv_columns for name in (c.key, f"{c.key}_std"))])
        for row in self.rows:
            cells: list[Any] = [row.source, row.dataset, row.limit or "", row.model, row.sampling,
                                "" if row.alpha is None else f"{row.alpha:g}", row.train_dataset or "",
                                " ".join(f"{k}={v}" for k, v in row.extra), " ".join(str(s) for s in row.seeds),
                                row.n]
            for column in self.csv_columns:
                value = row.values.get(column.key)
                mean, std = value if value is not None else (None, None)
                cells += ["" if mean is None else repr(round(mean, 8)), "" if std is None else repr(round(std, 8))]
            writer.writerow(cells)
        return buffer.getvalue()


def leaderboard(results_list: Iterable[Mapping[str, Any]], *, include_paper: bool = True,
                columns: Sequence[Column] = DEFAULT_COLUMNS) -> Leaderboard:
    """Put several results side by side, grouped by dataset, with the paper's rows for reference.

    Results that share a configuration (base model, sampling, α, training settings, evaluation dataset and
    limit) but differ in seed become one row with mean ± sample standard deviation and ``n``. The base model is
    ``training.base_model`` (or ``training.base``) when the results carry it, else ``model.name``.

    Args:
        results_list (Iterable[dict]): results dictionaries (see :func:`load_results`).
        include_paper (bool, default True): add the paper's rows (:data:`PAPER_ROWS`) to the table of each
            full (not ``--limit``-ed) dataset the paper reports; to every dataset when ``results_list`` is empty.
        columns (Sequence[Column], default DEFAULT_COLUMNS): the Markdown columns (the CSV has every measure).

    Returns:
        A :class:`Leaderboard`; ``.to_markdown()`` and ``.to_csv()`` render it.

    Example::

        board = leaderboard([load_results("runs/xx"), load_results("runs/hybrid")])
        print(board.to_markdown())
    """
    columns = tuple(columns)
    for column in columns:
        if column.setting not in SETTINGS or column.measure not in (*MEASURES, "bias") or (
                column.measure == "bias" and column.setting != "multi"):
            raise UsageError(f"unknown leaderboard column {tuple(column)}: settings are {SETTINGS}, measures "
                             f"{(*MEASURES, 'bias')} (bias only with multi)")
    csv_columns = ALL_COLUMNS
    ours = _aggregate(list(results_list), csv_columns)
    order = {"base": 0, "xx": 1, "xy": 2, "hybrid": 3}
    ours.sort(key=lambda r: (r.limit is not None, r.limit or 0, r.model, order.get(r.sampling, 4),
                             -2.0 if r.alpha is None else -r.alpha, r.train_dataset or "", r.extra))
    datasets = list(dict.fromkeys(r.dataset for r in ours)) or list(dict.fromkeys(r.dataset for r in PAPER_ROWS))
    rows: list[LeaderboardRow] = []
    for dataset in datasets:
        full = [r for r in ours if r.dataset == dataset and r.limit is None]
        rows += full
        if include_paper:
            rows += [_paper_row(p, csv_columns) for p in PAPER_ROWS if p.dataset == dataset]
        rows += [r for r in ours if r.dataset == dataset and r.limit is not None]
    return Leaderboard(tuple(rows), columns, csv_columns)


# --------------------------------------------------------------------------------------------------------------
# The α sweep


def plot_alpha_sweep(results_list: Iterable[Mapping[str, Any]], path: str | Path) -> Path:
    """Plot mono / cross / multi mAP against α (the share of X-X batches), one panel per evaluation dataset.

    Results sharing a configuration are averaged over seeds, with error bars of ± one sample standard deviation.
    Untuned models (results without ``training``) are drawn as dotted horizontal lines.

    Args:
        results_list (Iterable[dict]): results dictionaries; those with ``training.alpha`` (or sampling ``xx`` /
            ``xy``) are placed on the α axis.
        path (str | Path): the ``.png`` file to write (atomically).

    Raises:
        UsageError: no result has an α.
    """
    columns = tuple(Column(s, "map") for s in SETTINGS)
    rows = _aggregate(list(results_list), columns)
    swept = [r for r in rows if r.alpha is not None]
    if not swept:
        raise UsageError("no result has an alpha (training.alpha): nothing to plot against alpha")
    groups = list(dict.fromkeys(r.group for r in swept))
    fig = _new_figure(5.2 * len(groups), 4.2)
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    colors = {"mono": "tab:blue", "cross": "tab:orange", "multi": "tab:green"}
    markers = ["o", "s", "^", "D", "v"]
    for ax, group in zip(axes, groups):
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
                ax.errorbar(alphas, means, yerr=stds, color=colors[setting], marker=markers[m % len(markers)],
                            capsize=3, linewidth=1.5, label=label)
        for r in rows:
            if r.alpha is None and r.group == group:
                for setting in SETTINGS:
                    ax.axhline(r.values[f"{setting}_map"][0], color=colors[setting], linestyle=":", linewidth=1)
        ns = sorted({r.n for r in members})
        ax.set_title(f"{group} — seeds per point: {'/'.join(map(str, ns))}", fontsize=10)
        ax.set_xlabel("α (share of X-X batches)")
        ax.set_ylabel("mAP (full ranking)")
        ax.set_xlim(-0.05, 1.05)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    if any(r.alpha is None for r in rows):
        fig.suptitle("dotted: untuned base model; error bars: ± 1 sample std over seeds", fontsize=9)
    return _save_png(fig, Path(path))
