"""hybrid_plugin.analysis.language_plots: languages sorted by the lead system's value, bars coloured by resource
group, a real PNG; bad input is one UsageError and no file."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid_plugin.analysis.language_plots import GROUP_COLORS, language_order, plot_language_results
from hybrid_plugin.errors import UsageError


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.sampled_from(["de", "sw", "yo", "zu", "ha", "am", "kab"]), st.floats(0, 1), min_size=1))
def test_the_order_is_by_value_then_code(values):
    order = language_order(values)
    assert sorted(order) == sorted(values)
    assert all((-values[a], a) < (-values[b], b) for a, b in zip(order, order[1:]))


def test_the_plot_is_a_png_with_bars_in_group_colours(tmp_path):
    from matplotlib.image import imread

    path = plot_language_results({"hybrid": {"de": 0.9, "sw": 0.6, "yo": 0.2}, "xx": {"de": 0.8, "yo": 0.3}},
                                 {"de": "trained", "sw": "pretrained", "yo": "unseen"}, tmp_path / "p.png",
                                 lead="hybrid", title="t", ylabel="accuracy")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100
    colours = {tuple(round(c, 2) for c in px[:3]) for row in image[::4] for px in row[::4]}
    from matplotlib.colors import to_rgb

    for group in ("trained", "pretrained", "unseen"):  # each group's bar colour is drawn
        want = to_rgb(GROUP_COLORS[group])
        assert any(max(abs(a - b) for a, b in zip(c, want)) < 0.03 for c in colours), group


@pytest.mark.parametrize("systems, groups, message", [
    ({"xx": {"de": 0.5}}, {"de": "trained"}, "the lead system 'hybrid' has no values"),
    ({"hybrid": {}}, {}, "has no values"),
    ({"hybrid": {"de": 0.5}}, {}, "language 'de' has group None"),
    ({"hybrid": {"de": 0.5}}, {"de": "rare"}, "language 'de' has group 'rare'"),
])
def test_bad_input_is_one_usage_error_and_no_file(tmp_path, systems, groups, message):
    with pytest.raises(UsageError, match=message):
        plot_language_results(systems, groups, tmp_path / "p.png", lead="hybrid")
    assert not (tmp_path / "p.png").exists()
