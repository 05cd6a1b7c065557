"""hybrid_plugin.analysis.page_figures: the PNGs the page embeds, drawn by the plugin's own plots, shrunk where
that helps, captioned and described from the records; a file that is not a PNG is a DataError naming it."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from hybrid_plugin.analysis.leaderboard import Column, aggregate
from hybrid_plugin.analysis.page_figures import row_figures, study_figures
from hybrid_plugin.analysis.plots import plot_pair_heatmap
from hybrid_plugin.analysis.reproduction import read_study
from hybrid_plugin.errors import DataError
from hybrid_plugin.evaluation.results import load_results


def test_the_heatmap_comes_first_shrunk_and_described(tmp_path, make_record):
    results = make_record()
    plot_pair_heatmap(results, tmp_path / "pairs.png")
    plot_pair_heatmap(results, tmp_path / "another.png")
    figures = row_figures(tmp_path, results, tmp_path / "site" / "index.html")
    assert [f.source for f in figures] == ["../pairs.png", "../another.png"]
    heatmap = figures[0]
    assert len(heatmap.png) < (tmp_path / "pairs.png").stat().st_size
    with Image.open(io.BytesIO(heatmap.png)) as image, Image.open(tmp_path / "pairs.png") as original:
        assert image.size == original.size
    maps = results.map
    assert f"mono {maps['mono']:.4f}" in heatmap.alt and "query language (rows)" in heatmap.alt
    assert heatmap.caption == f"mAP per pair, {results.title}"


def test_the_alpha_sweep_is_described_by_its_points(page_inputs):
    study = read_study(page_inputs.study)
    records = [load_results(p) for p in page_inputs.paths[:5]]  # the study's
    rows = aggregate(records, [Column(s, "map") for s in ("mono", "cross", "multi")])
    (figure,) = study_figures(study, rows, records, page_inputs.root / "index.html")
    assert figure.source is None  # drawn from these results, not the study's own (possibly older) file
    with Image.open(io.BytesIO(figure.png)) as image:
        assert image.format == "PNG" and image.width > 400
    assert "α 1: mono" in figure.alt and "α 0.5: mono" in figure.alt
    # without a trained model among the results there is nothing to plot against α
    assert study_figures(study, rows[:1], records[:1], page_inputs.root / "index.html") == []


@pytest.mark.parametrize("content", [b"GIF89a not a png", b"\x89PNG\r\n\x1a\ntruncated"])
def test_a_file_that_is_not_a_png_names_the_file(tmp_path, make_record, content):
    (tmp_path / "pairs.png").write_bytes(content)
    with pytest.raises(DataError, match="PNG") as info:
        row_figures(tmp_path, make_record(), tmp_path / "index.html")
    assert str(tmp_path / "pairs.png") in str(info.value)
