"""hybrid_plugin.analysis.resource_groups: settings averaged per resource group (a pair in its less-resourced
language's group), the Markdown block, and the Tatoeba table's group means."""

from __future__ import annotations

import pytest

from hybrid_plugin.analysis.resource_groups import bitext_markdown, group_markdown, results_by_group
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.bitext import BitextLanguage, BitextResults
from hybrid_plugin.evaluation.results import MULTI, Cell, DatasetInfo, EvaluationResults, ModelInfo


@pytest.fixture()
def record() -> EvaluationResults:
    pairs = [Cell("en", "en", {"map": 0.9}, 4), Cell("de", "de", {"map": 0.7}, 4), Cell("en", "de", {"map": 0.6}, 4),
             Cell("sw", "en", {"map": 0.4}, 4), Cell("yo", "en", {"map": 0.2}, 4), Cell("yo", "sw", {"map": 0.1}, 4)]
    multi = [Cell(x, MULTI, {"map": v}, 4, bias=1.0) for x, v in (("en", 0.8), ("sw", 0.3), ("yo", 0.15))]
    return EvaluationResults.from_cells(model=ModelInfo("m"), dataset=DatasetInfo("toy", ("en", "de", "sw", "yo")),
                                        pairs=pairs, multi=multi)


def test_each_setting_is_averaged_per_group(record):
    table = results_by_group(record, training=["en", "de"])
    assert table.languages == {"trained": ("en", "de"), "pretrained": ("sw",), "unseen": ("yo",), "unlisted": ()}
    assert table.means["mono"]["trained"] == pytest.approx(0.8)
    assert table.means["cross"]["trained"] == pytest.approx(0.6)
    assert table.means["cross"]["pretrained"] == pytest.approx(0.4)
    assert table.means["cross"]["unseen"] == pytest.approx(0.15)  # yo-en and yo-sw: yo is the weaker language
    assert table.counts["cross"] == {"trained": 1, "pretrained": 1, "unseen": 2, "unlisted": 0}
    assert table.means["multi"]["unseen"] == pytest.approx(0.15) and table.means["mono"]["unseen"] is None
    block = group_markdown(table)
    assert "| unseen | yo | – | 0.1500 (2) | 0.1500 (1) |" in block and "unlisted" not in block.split("|---")[-1]


def test_unknown_measure_is_a_usage_error(record):
    with pytest.raises(UsageError, match="measure must be one of"):
        results_by_group(record, training=["en"], measure="P@5")


def test_bitext_table_groups_and_means():
    langs = {"de": BitextLanguage("de", 10, "trained", 0.9, 0.7, 0.95, 0.8),
             "sw": BitextLanguage("sw", 10, "pretrained", 0.5, 0.3, 0.6, 0.4),
             "kab": BitextLanguage("kab", 10, "unseen", 0.2, 0.0, 0.3, 0.1),
             "ber": BitextLanguage("ber", 10, "unseen", 0.4, 0.2, 0.5, 0.3)}
    table = bitext_markdown(BitextResults(ModelInfo("m"), ("en", "de"), langs))
    lines = table.splitlines()
    unseen = [line for line in lines if "| unseen |" in line]
    assert unseen[0].startswith("| ber ") and unseen[1].startswith("| kab ")  # best first within a group
    assert "| **mean unseen** (2) | unseen |  | **30.0** | **10.0** | **20.0** | **80.0** | **30.0** |" in lines
    assert lines[-1].startswith("| **mean** (4)")
