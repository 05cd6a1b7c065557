"""Tests of hybrid_plugin.analysis.plots: the per-pair heatmap and the α sweep."""

from __future__ import annotations

import pytest

from hybrid_plugin.analysis.plots import plot_alpha_sweep, plot_pair_heatmap
from hybrid_plugin.errors import DataError, UsageError


def test_plot_pair_heatmap_writes_png(tmp_path, make_results, record_of):
    data = make_results(languages=["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"])
    del data["pairs"]["th-en"]  # a missing pair is left blank
    path = plot_pair_heatmap(record_of(data), tmp_path / "pairs.png")
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) > 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["pairs.png"]


def test_plot_alpha_sweep(tmp_path, make_record):
    runs = [make_record(sampling="hybrid", alpha=a, seed=s, shift=0.01 * s - abs(a - 0.5) / 10)
            for a in (0.0, 0.25, 0.5, 0.75, 1.0) for s in (1, 2)]
    runs.append(make_record(shift=-0.2))
    path = plot_alpha_sweep(runs, tmp_path / "alpha.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(UsageError, match="no result has an alpha"):
        plot_alpha_sweep([make_record()], tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()


def test_plot_alpha_sweep_rejects_a_bad_alpha(tmp_path, make_record):
    with pytest.raises(DataError, match="training.alpha"):
        plot_alpha_sweep([make_record(sampling="hybrid", alpha=1.5, seed=1)], tmp_path / "alpha.png")
    assert not (tmp_path / "alpha.png").exists()
