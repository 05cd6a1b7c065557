"""hybrid_plugin.lowres.record: the summary's one JSON form round-trips; a malformed file is one DataError naming
the field."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid_plugin.errors import DataError
from hybrid_plugin.lowres.record import GroupRow, LanguageRow, LowresSummary, PublishedRow, TestRow

fraction = st.floats(0.0, 1.0, allow_nan=False)


def _summary(value: float = 0.5) -> LowresSummary:
    return LowresSummary(
        {"quick": True, "sets": ["tatoeba"]},
        [GroupRow("tatoeba", "mlqa-r", "hybrid-a0.5", "accuracy", 1, {"trained": value, "unseen": 0.1}, value)],
        [TestRow("tatoeba", "mlqa-r", "bitext", "hybrid-a0.5", "xx", 0.01, 0.2, 240)],
        [LanguageRow("tatoeba", "mlqa-r", "hybrid-a0.5", "sw", "pretrained", "accuracy", value)],
        [PublishedRow("tatoeba", "LaBSE", "accuracy", "112 languages", 0.83, "Feng et al. 2022, Table 3", None,
                      "quick slice")],
        ["study/models/mlqa-r/xy/seed0"])


@settings(max_examples=30, deadline=None)
@given(fraction)
def test_the_json_form_round_trips(value):
    summary = _summary(value)
    back = LowresSummary.from_json(summary.to_json())
    assert back == summary and back.to_json() == summary.to_json()


def test_save_and_load(tmp_path):
    path = _summary().save(tmp_path)
    assert path.name == "summary.json" and LowresSummary.load(tmp_path) == _summary()


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(kind="study"), "not a low-resource summary"),
    (lambda d: d.update(schema_version=9), "schema_version 9"),
    (lambda d: d["rows"][0].pop("overall"), "field 'rows\\[0\\].overall' is missing"),
    (lambda d: d["tests"][0].update(p_value="small"), "field 'tests\\[0\\].p_value' must be float"),
    (lambda d: d["languages"][0].update(value=None), "field 'languages\\[0\\].value' must be float"),
    (lambda d: d.update(published={}), "field 'published' must be an array"),
    (lambda d: d.update(missing=[1]), "field 'missing' must be an array of strings"),
])
def test_a_malformed_summary_names_the_field(tmp_path, change, message):
    data = json.loads(_summary().to_json())
    change(data)
    (tmp_path / "summary.json").write_text(json.dumps(data))
    with pytest.raises(DataError, match=message) as caught:
        LowresSummary.load(tmp_path)
    assert "summary.json" in str(caught.value) and "\n" not in str(caught.value)


def test_not_json_is_a_data_error(tmp_path):
    (tmp_path / "summary.json").write_text("{")
    with pytest.raises(DataError, match="not JSON"):
        LowresSummary.load(tmp_path)
