"""Benchmark ``hybrid-plugin evaluate``: a full evaluation of the default model, cold (empty embedding cache)
and warm (every embedding cached).

Records wall time, peak memory, texts encoded / distinct texts, the share of the time spent outside
``model.encode``, the size of the run files, and the time of each part. The cold run's results are the
untuned base row (``--base-row`` copies its results.json / results.md there; runs and indexes stay in the
scratch folder).

    python benchmarks/evaluation/bench_evaluate.py --dataset xquad-r --data ../shared/data/xquad-r \
        --record benchmarks/evaluation/xquad-r.json --base-row benchmarks/results/base-e5-small/xquad-r
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


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="xquad-r")
    parser.add_argument("--data", default=None, help="local copy of the dataset")
    parser.add_argument("--model", default=None, help="default: the embedded multilingual-e5-small")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--runs", choices=("default", "all", "none"), default="default",
                        help="which TREC runs evaluate writes (default: the mono settings and the multilingual pools)")
    parser.add_argument("--scratch", default=None, help="where runs, indexes and the fresh cache go (default: tmp)")
    parser.add_argument("--record", default=None, help="write the benchmark record (JSON) here")
    parser.add_argument("--base-row", default=None, help="copy the cold run's results.json / results.md here")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    logging.getLogger("faiss").setLevel(logging.WARNING)

    from hybrid_plugin.files import cache_dir
    from hybrid_plugin.models import build_default_model

    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="bench-evaluate-"))
    scratch.mkdir(parents=True, exist_ok=True)
    # a fresh embedding cache, but the already-built default model (its build is not what we measure)
    build_default_model()
    real_models = cache_dir() / "models"
    fresh_cache = scratch / "cache"
    fresh_cache.mkdir(exist_ok=True)
    if real_models.is_dir() and not (fresh_cache / "models").exists():
        (fresh_cache / "models").symlink_to(real_models, target_is_directory=True)
    os.environ["HYBRID_PLUGIN_CACHE"] = str(fresh_cache)

    from hybrid_plugin.data import load_parallel_qa
    from hybrid_plugin.evaluation import evaluate

    record: dict = {"dataset": args.dataset, "limit": args.limit, "batch_size": args.batch_size, "runs": args.runs,
                    "machine": machine(),
                    "command": " ".join([Path(sys.executable).name, *sys.argv])}
    runs = {}
    for label in ("cold", "warm"):
        load_before = os.getloadavg()
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        qa = load_parallel_qa(args.dataset, data=args.data).limit(args.limit)
        load = time.perf_counter() - started
        out = scratch / label
        results = evaluate(qa, args.model, out=out, batch_size=args.batch_size, limit=args.limit, overwrite=True,
                           runs=args.runs, show_progress=False, load_seconds=load)
        wall = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime
        enc = results.encoding
        runs[label] = {
            "wall_s": round(wall, 1),
            "peak_rss_mib": round(cpu_after.ru_maxrss / 1024, 1),
            "cpu_s": round(cpu, 1),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "texts_encoded": enc["texts_encoded"],
            "distinct_texts": enc["distinct_texts"],
            "from_cache": enc["from_cache"],
            "encoded_per_distinct": enc["encoded_per_distinct"],
            "encode_s": results.timings["encode"],
            "outside_encoding_s": round(wall - results.timings["encode"], 1),
            "outside_encoding_share": round((wall - results.timings["encode"]) / wall, 4),
            # the same in CPU time (all threads of the process): less sensitive to other jobs on the machine
            "encode_cpu_s": enc["cpu_seconds"],
            "cpu_outside_encoding_share": round((cpu - enc["cpu_seconds"]) / cpu, 4) if cpu else None,
            "timings": results.timings,
            "run_files": len(list((out / "runs").glob("*.txt"))),
            "run_bytes": _folder_bytes(out / "runs") if (out / "runs").is_dir() else 0,
            "index_bytes": _folder_bytes(out / "indexes"),
            "output_bytes": _folder_bytes(out),
            "map": results.map,
            "bias": results.bias,
        }
        print(json.dumps({label: runs[label]}, indent=1), flush=True)
        if label == "cold" and args.base_row:
            base = Path(args.base_row)
            base.mkdir(parents=True, exist_ok=True)
            for name in ("results.json", "results.md", "pairs.png"):
                if (out / name).exists():
                    shutil.copy2(out / name, base / name)
    record["runs"] = runs
    if args.record:
        Path(args.record).parent.mkdir(parents=True, exist_ok=True)
        Path(args.record).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
