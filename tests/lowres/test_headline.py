"""``headline_table``: one row per model, the zero-shot cross-lingual and multilingual measures over all languages
and (in brackets) the unseen ones, read from the summary's group rows; at the top of ``summary.md``. Also what
``summary.md`` says around it (the evaluated part of each set, the paired tests' training collection) and that the
README's table of the full study is the published summary's."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hybrid_plugin.lowres.record import LowresSummary
from hybrid_plugin.lowres.summary import HEADLINE, headline_table, summary_markdown

QUICK = Path(__file__).resolve().parents[2] / "benchmarks" / "lowres" / "quick-recipe" / "summary.json"


def _cells(table: str) -> dict[str, list[str]]:
    rows = [line.strip("|").split(" | ") for line in table.splitlines()[2:]]
    return {row[0].strip(): [c.strip() for c in row[1:]] for row in rows}


def test_each_cell_is_its_group_row_overall_and_unseen_in_percent():
    summary = LowresSummary.load(QUICK)
    cells = _cells(headline_table(summary))
    assert list(cells)[:3] == ["base", "base+lsar", "xx (mlqa-r)"] and "hybrid-a0.5+lsar (mlqa-r)" in cells
    for (set_name, measure), column in zip(HEADLINE, range(len(HEADLINE))):
        row = next(r for r in summary.rows if (r.set_name, r.measure, r.system, r.train_set)
                   == (set_name, measure, "hybrid-a0.5", "mlqa-r"))
        assert cells["hybrid-a0.5 (mlqa-r)"][column] == f"{100 * row.overall:.1f} ({100 * row.values['unseen']:.1f})"
    assert cells["base"][0] == "84.4 (87.0)"  # the README's quick table, first cell


def test_a_missing_cell_is_a_dash_and_the_table_heads_the_summary():
    summary = LowresSummary.load(QUICK)
    fewer = dataclasses.replace(summary, rows=[r for r in summary.rows if r.set_name != "tatoeba"])
    cells = _cells(headline_table(fewer))
    assert all(values[-1] == "–" for values in cells.values()) and all("–" not in v[0] for v in cells.values())
    markdown = summary_markdown(summary)
    assert markdown.index("## Headline") < markdown.index("## afriqa") and headline_table(summary) in markdown


def test_the_opening_says_which_part_of_each_set_was_evaluated():
    summary = LowresSummary.load(QUICK)
    assert "--quick slices;" in summary_markdown(summary)
    limited = dataclasses.replace(summary, settings={**summary.settings, "quick": False, "limit": 200})
    opening = summary_markdown(limited).splitlines()[2]
    assert "the first 200 items of each language (--limit);" in opening and "full sets" not in opening
    everything = dataclasses.replace(summary, settings={**summary.settings, "quick": False, "limit": None})
    assert "full sets;" in summary_markdown(everything).splitlines()[2]


def test_each_paired_test_row_names_the_collection_its_models_were_trained_on():
    summary = LowresSummary.load(QUICK)
    test = summary.tests[0]
    other = dataclasses.replace(test, train_set="xquad-r", mean_diff=test.mean_diff + 0.01)
    markdown = summary_markdown(dataclasses.replace(summary, tests=[test, other]))
    assert "| system | trained on | baseline | setting | Δ (points) | p | queries |" in markdown
    assert f"| {test.system} | {test.train_set} | {test.baseline} | {test.setting} |" in markdown
    assert f"| {test.system} | xquad-r | {test.baseline} | {test.setting} |" in markdown


FULL = QUICK.parents[1] / "full" / "summary.json"
README = QUICK.parents[3] / "README.md"
_SYSTEMS = {"untuned base": "base", "X-X": "xx", "X-Y": "xy", "hybrid α = 0.5": "hybrid-a0.5", "hybrid": "hybrid-a0.5"}


def _readme_label(model: str, trained_on: str) -> str:
    """``X-Y + LSAR`` / ``MLQA-R`` -> ``xy+lsar (mlqa-r)``: the README's names for the headline table's."""
    name, _, lsar = model.partition(" + ")
    label = _SYSTEMS[name] + ("+lsar" if lsar == "LSAR" else "")
    return label if trained_on == "–" else f"{label} ({trained_on.lower()})"


def test_the_readme_table_of_the_full_study_is_the_published_summary():
    text = README.read_text(encoding="utf-8")
    start = text.index("| model (seed 0) | trained on |")
    rows = [line.strip("|").split(" | ") for line in text[start:].split("\n\n")[0].splitlines()[2:]]
    readme = {_readme_label(r[0].strip(), r[1].strip()): [c.strip().replace("**", "") for c in r[2:]] for r in rows}
    published = _cells(headline_table(LowresSummary.load(FULL)))
    assert len(readme) == 12 and {label: published[label] for label in readme} == readme  # X-X + LSAR left out
