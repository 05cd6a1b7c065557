"""Benchmark a full evaluation of one low-resource set with the untuned base model: time and peak memory.

One set per process (peak RSS is the process's): ``afriqa`` and ``ntrex-128`` through ``evaluate`` (Faiss
indexes, pre-encoded queries, qrels written; NTREX-128 with ``--pairs``, default ``sample:200``: every X <-> en
and 200 other pairs, the 255k-sentence multilingual pool ranked a few rows at a time), ``tatoeba`` through the
bitext protocol (xx <-> eng accuracy per language). The embedding cache starts empty (a cold run: every distinct
text is encoded); the default model's build is not measured.

    python benchmarks/lowres/bench_lowres.py --set afriqa --data-root ../shared/data \
        --record benchmarks/lowres/afriqa.json
    python benchmarks/lowres/bench_lowres.py --set tatoeba --languages de,sw,yo --record /tmp/tatoeba-3.json

``--languages`` / ``--limit`` measure part of a set (recorded as such: not a full evaluation).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from hybrid_plugin.provenance import machine

SETS = ("afriqa", "ntrex-128", "tatoeba")


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _fresh_cache(scratch: Path) -> None:
    """An empty embedding cache that shares the already-built default model."""
    from hybrid_plugin.files import cache_dir
    from hybrid_plugin.models import build_default_model

    build_default_model()
    real_models = cache_dir() / "models"
    fresh = scratch / "cache"
    fresh.mkdir(parents=True, exist_ok=True)
    if real_models.is_dir() and not (fresh / "models").exists():
        (fresh / "models").symlink_to(real_models, target_is_directory=True)
    os.environ["HYBRID_PLUGIN_CACHE"] = str(fresh)


def _run(args: argparse.Namespace, scratch: Path) -> dict:
    from hybrid_plugin.data.loading import load_parallel_qa, load_tatoeba
    from hybrid_plugin.models import resolve_model

    data = None if args.data_root is None else Path(args.data_root) / args.set
    languages = None if args.languages is None else args.languages.split(",")
    t0 = time.perf_counter()
    if args.set == "tatoeba":
        from hybrid_plugin.data.tatoeba import Bitext, TatoebaSet
        from hybrid_plugin.lowres.bitext_cells import bitext_cell

        tatoeba = load_tatoeba(data=data, languages=languages)
        if args.limit:
            tatoeba = TatoebaSet({k: Bitext(k, b.sentences[:args.limit], b.english[:args.limit])
                                  for k, b in tatoeba.bitexts.items()}, tatoeba.sources)
        loaded = time.perf_counter()
        record, _ = bitext_cell(tatoeba, resolve_model(None), name="base", batch_size=args.batch_size)
        done = time.perf_counter()
        if args.results:  # every language's accuracy / error rate / mAP: BitextResults' one JSON form
            Path(args.results).write_text(record.to_json(), encoding="utf-8")
        return {"languages": len(tatoeba.languages), "pairs": tatoeba.num_pairs(), "load_s": loaded - t0,
                "evaluate_s": done - loaded, "mean_accuracy": record.mean("accuracy"),
                "mean_error_rate": record.mean("error_rate")}
    from hybrid_plugin.evaluation import evaluate
    from hybrid_plugin.lowres.sets import first_per_language

    qa = load_parallel_qa(args.set, data=data, languages=languages)
    if args.limit:
        qa = first_per_language(qa, args.limit)
    loaded = time.perf_counter()
    results = evaluate(qa, None, out=scratch / "out", batch_size=args.batch_size, show_progress=False,
                       pairs=args.pairs if args.set == "ntrex-128" else "all", load_seconds=loaded - t0)
    return {"languages": len(qa.languages), "questions": qa.num_questions(), "candidates": qa.num_candidates(),
            "cross_cells": sum(c.query_language != c.pool_language for c in results.pairs.values()),
            "load_s": loaded - t0, "evaluate_s": time.perf_counter() - loaded,
            "map": dict(results.map), "bias": results.bias, "encoding": results.encoding,
            "timings": dict(results.timings)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=SETS, required=True)
    parser.add_argument("--data-root", default=None, help="local copies <root>/<set> (default: download)")
    parser.add_argument("--languages", default=None, help="comma-separated: part of the set (not a full run)")
    parser.add_argument("--limit", type=int, default=None, help="items per language (not a full run)")
    parser.add_argument("--pairs", default="sample:200", help="NTREX-128's pairs (default: sample:200)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--scratch", default=None, help="the run's folder and fresh cache (default: tmp)")
    parser.add_argument("--record", default=None, help="write the benchmark record (JSON) here")
    parser.add_argument("--results", default=None, help="Tatoeba: also write the per-language results (JSON) here")
    parser.add_argument("--note", default="shared: other jobs ran on the same cores",
                        help="how the machine was used during the run (recorded)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="bench-lowres-"))
    _fresh_cache(scratch)
    started = time.perf_counter()
    measured = _run(args, scratch)
    record = {"set": args.set, "full": args.languages is None and args.limit is None,
              "languages_arg": args.languages, "limit": args.limit,
              "pairs": args.pairs if args.set == "ntrex-128" else None, "batch_size": args.batch_size,
              "model": "multilingual-e5-small (the plugin's default, untuned)",
              "wall_s": round(time.perf_counter() - started, 1), "peak_rss_mib": round(_peak_rss_mib(), 1),
              **measured,
              "machine": {**machine(),
                          "note": args.note},
              "command": " ".join([Path(sys.executable).name, *sys.argv])}
    text = json.dumps(record, indent=1, default=str) + "\n"
    if args.record:
        Path(args.record).write_text(text)
    print(text)
    if args.scratch is None:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
