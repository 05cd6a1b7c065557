"""The figures the leaderboard page embeds: per-pair heatmaps and any other PNG beside a results file, a study's
α sweep (drawn again from the page's results) and any other PNG at the top of a study folder; each checked, shrunk
to a palette PNG where that is smaller, and given a caption and a text alternative built from the same records as
the tables.

What does not live here: drawing figures (:mod:`hybrid_plugin.analysis.plots`), the page
(:mod:`hybrid_plugin.analysis.html_page`).

Example::

    figures = row_figures(Path("runs/hybrid"), load_results("runs/hybrid"), Path("board.html"))
    figures[0].caption   # 'mAP per pair, e5 on xquad-r'
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hybrid_plugin.analysis.leaderboard import LeaderboardRow
from hybrid_plugin.analysis.plots import plot_alpha_sweep
from hybrid_plugin.analysis.reproduction import Study
from hybrid_plugin.errors import DataError
from hybrid_plugin.evaluation.results import SETTINGS, EvaluationResults

__all__ = ["Figure", "row_figures", "study_figures"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Figure:
    """A PNG embedded in the page, with its caption and its text alternative."""

    caption: str
    alt: str
    png: bytes
    source: str | None
    """The file it was read from, relative to the page (None: drawn for the page)."""


def _compact_png(data: bytes, path: Path) -> bytes:
    """The PNG as a 128-colour palette image when that is smaller (heatmaps shrink to about a quarter)."""
    from PIL import Image  # matplotlib's own image library: loaded only when a page embeds a figure

    try:
        with Image.open(io.BytesIO(data)) as image:
            quantized = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    except (OSError, ValueError) as exc:  # PIL's UnidentifiedImageError is an OSError
        raise DataError(f"not a readable PNG image ({exc})", path) from None
    buffer = io.BytesIO()
    quantized.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue() if buffer.tell() < len(data) else data


def _read_png(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read the figure ({exc.strerror})", path) from None
    if not data.startswith(_PNG_SIGNATURE):
        raise DataError("not a PNG file (a figure the page would embed)", path)
    return _compact_png(data, path)


def _figure(path: Path, caption: str, alt: str, out: Path) -> Figure:
    return Figure(caption, alt, _read_png(path), os.path.relpath(path, out.parent))


def _fmt(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _heatmap_alt(results: EvaluationResults) -> str:
    maps = results.map
    return (f"Heatmap of mAP for every query language (rows) and pool language (columns) of {results.title}: "
            f"mono {_fmt(maps['mono'])}, cross {_fmt(maps['cross'])}, multi {_fmt(maps['multi'])}. The same "
            "numbers are in the table of mAP per pair below.")


def _mean(row: LeaderboardRow, key: str) -> float | None:
    value = row.values.get(key)
    return None if value is None else value[0]


def _sweep_alt(rows: Sequence[LeaderboardRow], study: Path) -> str:
    points = [f"{r.group}, α {r.alpha:g}: " + ", ".join(f"{s} {_fmt(_mean(r, f'{s}_map'))}" for s in SETTINGS)
              for r in rows if r.alpha is not None]
    return (f"Line plot of mono, cross and multi mAP against α (the share of X-X batches) in the study "
            f"{study.name}, mean over seeds with ± one standard deviation: " + "; ".join(points) + ".")


def row_figures(folder: Path, results: EvaluationResults, out: Path) -> tuple[Figure, ...]:
    """The PNGs beside a results file (its ``pairs.png`` heatmap first), captioned and described.

    Args:
        folder (Path): the folder of the results file.
        results (EvaluationResults): its record (the text alternatives quote its numbers).
        out (Path): the page's path (each figure's ``source`` is relative to it).

    Example::

        row_figures(Path("runs/hybrid"), load_results("runs/hybrid"), Path("board.html"))[0].source
        # 'runs/hybrid/pairs.png'

    Raises:
        DataError: a PNG that cannot be read.
    """
    figures = []
    for path in sorted(folder.glob("*.png"), key=lambda p: (p.name != "pairs.png", p.name)):
        if path.name == "pairs.png":
            figures.append(_figure(path, f"mAP per pair, {results.title}", _heatmap_alt(results), out))
        else:
            figures.append(_figure(path, f"{path.stem}, {results.title}",
                                   f"Figure {path.name} of {results.title}; its numbers are in the results file "
                                   f"{os.path.relpath(folder / 'results.json', out.parent)}.", out))
    return tuple(figures)


def _drawn_sweep(results: Sequence[EvaluationResults]) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = plot_alpha_sweep(results, Path(folder) / "alpha-sweep.png")
        return _compact_png(path.read_bytes(), path)


def study_figures(study: Study, rows: Sequence[LeaderboardRow], results: Sequence[EvaluationResults],
                  out: Path) -> list[Figure]:
    """The figures of a study folder: its α sweep drawn again from the results on the page (a study extended
    seed by seed keeps the plot of its last finished plan), and any other PNG at its top, captioned and described.

    Args:
        study (Study): the study.
        rows (Sequence[LeaderboardRow]): the leaderboard rows of its results (the α sweep's text alternative
            lists their means).
        results (Sequence[EvaluationResults]): its results on the page (what the α sweep is drawn from).
        out (Path): the page's path.

    Example::

        study_figures(read_study("benchmarks/reproduce/sweep"), rows, results, Path("board.html"))[0].caption
        # 'mono / cross / multi mAP against α, study sweep (drawn from the results in the tables)'

    Raises:
        DataError: a PNG that cannot be read.
    """
    figures = []
    for path in sorted(study.folder.glob("*.png")):
        if path.name == "alpha-sweep.png":
            if any(r.alpha is not None for r in rows):
                figures.append(Figure(f"mono / cross / multi mAP against α, study {study.folder.name} (drawn from "
                                      "the results in the tables)", _sweep_alt(rows, study.folder),
                                      _drawn_sweep(results), None))
        else:
            figures.append(_figure(path, f"{path.stem}, study {study.folder.name}",
                                   f"Figure {path.name} of the study {study.folder.name}; its numbers are in the "
                                   "study's summary.md and summary.json.", out))
    return figures
