"""``benchmarks/lowres/compare_tatoeba_published.py``: multilingual-e5-small's published MTEB Tatoeba accuracies beside
the base model's full run -- the published languages are exactly the released files' languages, every language is
matched through the language table, and the committed comparison is what the script computes now."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "lowres" / "compare_tatoeba_published.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("compare_tatoeba_published", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_published_languages_are_the_released_files_languages(script, shared_data):
    """An independent reading: the three-letter codes of LASER's ``tatoeba.<xxx>-eng.<xxx>`` files."""
    published = json.loads(script.PUBLISHED.read_text(encoding="utf-8"))["accuracy_xx_to_eng"]
    released = {p.name.split(".")[1].removesuffix("-eng") for p in (shared_data / "tatoeba").glob("tatoeba.*-eng.eng")}
    assert set(published) == released and len(released) == 112
    assert all(0 <= value <= 1 for value in published.values())


def test_each_language_is_paired_with_its_own_published_number(script):
    result = script.compare()
    ours = json.loads(script.OURS.read_text(encoding="utf-8"))["languages"]
    published = json.loads(script.PUBLISHED.read_text(encoding="utf-8"))["accuracy_xx_to_eng"]
    assert result["languages"] == 112 == len(result["per_language"])
    assert result["per_language"]["de"] == {"ours": ours["de"]["accuracy_to_en"], "published": published["deu"],
                                            "group": ours["de"]["group"]}
    assert result["per_language"]["zh"]["published"] == published["cmn"]
    assert sum(v["languages"] for v in result["by_group"].values()) == 112
    assert result["mean_absolute_difference"] >= abs(result["mean_difference"])


def test_the_committed_comparison_is_regenerated(script, tmp_path):
    committed = json.loads((ROOT / "benchmarks" / "lowres" / "tatoeba-vs-mteb.json").read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(script.compare()))
    assert (ROOT / "benchmarks" / "lowres" / "tatoeba-vs-mteb.md").read_text(encoding="utf-8") == \
        script.markdown(committed)


def test_the_prompt_variant_changes_only_the_prompts(tiny_model, tmp_path):
    spec = importlib.util.spec_from_file_location("bench_tatoeba_prompts", SCRIPT.parent / "bench_tatoeba_prompts.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    copy = module.query_both_sides(tiny_model, tmp_path / "variant")
    config = json.loads((copy / module.PROMPTS_FILE).read_text(encoding="utf-8"))
    original = json.loads((tiny_model / module.PROMPTS_FILE).read_text(encoding="utf-8"))
    assert set(config["prompts"].values()) == {"query: "} and config["prompts"].keys() >= {"query", "passage"}
    assert {k: v for k, v in config.items() if k != "prompts"} == {k: v for k, v in original.items() if k != "prompts"}
    others = sorted(p.relative_to(tiny_model) for p in tiny_model.rglob("*") if p.is_file()
                    and p.name != module.PROMPTS_FILE)
    assert all((copy / p).read_bytes() == (tiny_model / p).read_bytes() for p in others)
    written = (copy / module.PROMPTS_FILE).read_bytes()
    assert module.query_both_sides(tiny_model, copy) == copy and (copy / module.PROMPTS_FILE).read_bytes() == written
