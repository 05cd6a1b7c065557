"""hybrid_plugin.analysis.severity_plots: one PNG per setting, a panel per kind, a line per model, error bars."""

from __future__ import annotations

import pytest
from PIL import Image

from hybrid_plugin.analysis.severity_plots import SeverityCurve, plot_severity
from hybrid_plugin.errors import UsageError


def curves(panels=("typos", "romanize", "codeswitch", "attack", "lowercase")):
    found = []
    for p, panel in enumerate(panels):
        for m, model in enumerate(("base", "xx", "xy", "hybrid-a0.5")):
            values = tuple(0.8 - 0.1 * i * (1 + 0.1 * m + 0.05 * p) for i in range(4))
            found.append(SeverityCurve(panel, model, (0.0, 0.05, 0.1, 0.2), values,
                                       (None, 0.01, 0.02, 0.03) if model == "hybrid-a0.5" else None))
    return found


def test_one_png_with_a_panel_per_kind(tmp_path):
    path = plot_severity(curves(), tmp_path / "severity-cross.png", title="xquad-r, cross",
                         xlabels={"attack": "edits per query"})
    with Image.open(path) as image:
        width, height = image.size
    assert image.format == "PNG" and width > height  # five panels: two rows of up to four, legend at the right
    single = plot_severity(curves(("typos",)), tmp_path / "one.png", title="one")
    with Image.open(single) as image:
        assert image.size[0] < width


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(levels=(0.0, 0.1), values=(0.5,)), "same non-zero length"),
    (dict(levels=(), values=()), "same non-zero length"),
    (dict(levels=(0.0,), values=(0.5,), stds=(None, 0.1)), "same non-zero length"),
    (dict(levels=(0.0,), values=(float("nan"),)), "finite numbers"),
])
def test_malformed_curves_are_refused(kwargs, message):
    with pytest.raises(UsageError, match=message):
        SeverityCurve("typos", "xx", **kwargs)


def test_no_curves_is_an_error_and_nothing_is_written(tmp_path):
    with pytest.raises(UsageError, match="no severity curves"):
        plot_severity([], tmp_path / "none.png", title="none")
    assert not (tmp_path / "none.png").exists()
