"""Tatoeba with the base model's ``query: `` prefix on *both* sides, beside the recorded run (``query: `` for the xx
side, ``passage: `` for the English pool): how much of the gap to multilingual-e5-small's MTEB numbers the prompts
make (``tatoeba-vs-mteb.md``).

The variant is the default model's folder copied with its passage / document prompts set to ``query: `` (nothing
else changes; the copy's files are its cache identity, so a rerun reads its embeddings back). Its accuracies are
set beside ``tatoeba-full-results.json`` (the recorded run) and MTEB's published accuracies, per language:

    python benchmarks/lowres/bench_tatoeba_prompts.py --data ../shared/data/tatoeba --languages he,th,gd,ang \
        --out benchmarks/lowres/tatoeba-prompts.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
from pathlib import Path

from hybrid_plugin.data.languages import dataset_code
from hybrid_plugin.data.loading import load_tatoeba
from hybrid_plugin.evaluation.bitext import evaluate_bitext
from hybrid_plugin.files import cache_dir
from hybrid_plugin.models import resolve_model

HERE = Path(__file__).resolve().parent
RECORDED = HERE / "tatoeba-full-results.json"
PUBLISHED = HERE / "published" / "mteb-tatoeba-multilingual-e5-small.json"
PROMPTS_FILE = "config_sentence_transformers.json"


def query_both_sides(model: Path, into: Path) -> Path:
    """A copy of ``model`` whose every prompt is ``query: `` (written the same way each time: the same files)."""
    if not (into / PROMPTS_FILE).is_file():
        shutil.rmtree(into, ignore_errors=True)
        shutil.copytree(model, into)
        config = json.loads((into / PROMPTS_FILE).read_text(encoding="utf-8"))
        config["prompts"] = {"document": "query: ", "passage": "query: ", "query": "query: "}
        with open(into / PROMPTS_FILE, "w", encoding="utf-8") as handle:
            json.dump(config, handle, indent=2)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="LASER's Tatoeba files (default: download)")
    parser.add_argument("--languages", required=True, help="the plugin's codes, comma-separated")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    languages = [code.strip() for code in args.languages.split(",") if code.strip()]
    model = query_both_sides(Path(resolve_model(None)), cache_dir() / "models" / "e5-small-query-both-sides")
    results = evaluate_bitext(load_tatoeba(data=args.data, languages=languages), str(model),
                              model_name="base, query: on both sides")
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))["languages"]
    published = json.loads(PUBLISHED.read_text(encoding="utf-8"))["accuracy_xx_to_eng"]
    rows = {code: {"pairs": results.languages[code].pairs,
                   "query_passage": recorded[code]["accuracy_to_en"],
                   "query_query": results.languages[code].accuracy_to_en,
                   "mteb": published[dataset_code(code, "tatoeba")]} for code in languages}
    gap = {k: statistics.fmean(abs(r[k] - r["mteb"]) for r in rows.values()) for k in ("query_passage", "query_query")}
    record = {"measure": "accuracy_to_en (xx -> eng, nearest neighbour)", "model": "the default model",
              "recorded": str(RECORDED.relative_to(HERE.parents[1])),
              "published": str(PUBLISHED.relative_to(HERE.parents[1])),
              "mean_absolute_gap_to_mteb": gap, "languages": rows}
    args.out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    for code, row in rows.items():
        print(f"{code}: query/passage {100 * row['query_passage']:.1f}, query/query {100 * row['query_query']:.1f}, "
              f"MTEB {100 * row['mteb']:.1f}")
    print(f"mean |gap| to MTEB: query/passage {100 * gap['query_passage']:.1f}, "
          f"query/query {100 * gap['query_query']:.1f} points")


if __name__ == "__main__":
    main()
