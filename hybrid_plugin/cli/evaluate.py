"""``hybrid-plugin evaluate --dataset D``: mono / cross / multilingual evaluation of a model (or BM25)."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from hybrid_plugin.cli.prepare import add_dataset_arguments, load_dataset_arguments
from hybrid_plugin.errors import UsageError

logger = logging.getLogger(__name__)


def _summary(results: dict) -> str:
    maps = results["map"]
    measures = results.get("measures", {})
    lines = [f"{results['model']['name']} on {results['dataset']['name']}"
             + (f" (first {results['dataset']['limit']} items)" if results["dataset"].get("limit") else "")]
    header = f"{'setting':<8}{'mAP':>8}{'R@1':>8}{'R@10':>8}{'nDCG@10':>9}{'AP@1000':>9}"
    lines.append(header)
    for setting in ("mono", "cross", "multi"):
        row = measures.get(setting, {})
        cells = [maps.get(setting)] + [row.get(m) for m in ("R@1", "R@10", "nDCG@10", "AP@1000")]
        lines.append(f"{setting:<8}" + "".join(f"{'–' if v is None else f'{v:.4f}':>{w}}"
                                               for v, w in zip(cells, (8, 8, 8, 9, 9))))
    bias = results.get("bias")
    lines.append(f"language bias (multi, mean rank distance): {'–' if bias is None else f'{bias:.1f}'}")
    timings = results.get("timings", {})
    if "total" in timings:
        encoding = f" (encoding {timings['encode']:.1f} s)" if "encode" in timings else ""
        lines.append(f"time: {timings['total']:.1f} s{encoding}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> None:
    from hybrid_plugin.evaluation import check_output_folder

    logging.getLogger("faiss").setLevel(logging.WARNING)  # its loader logs every SIMD variant it tries
    out = Path(args.out)
    check_output_folder(out, args.overwrite)  # fail before loading anything
    if args.bm25 and args.model is not None:
        raise UsageError("--bm25 evaluates the BM25 baseline; it takes no --model")
    started = time.perf_counter()
    qa = load_dataset_arguments(args)
    load_seconds = time.perf_counter() - started
    if args.bm25:
        from hybrid_plugin.bm25 import evaluate_bm25

        results = evaluate_bm25(qa, out=out, depth=args.depth, limit=args.limit, overwrite=args.overwrite,
                                show_progress=not args.quiet, verify_runs=args.verify_runs)
    else:
        from hybrid_plugin.evaluation import evaluate

        results = evaluate(qa, args.model, out=out, batch_size=args.batch_size, depth=args.depth, limit=args.limit,
                           cache=not args.no_cache, overwrite=args.overwrite, device=args.device,
                           show_progress=not args.quiet, verify_runs=args.verify_runs, workers=args.workers,
                           load_seconds=load_seconds)
    print(_summary(results))
    print(f"results: {out / 'results.json'}")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="mono / cross / multilingual mAP, R@k, nDCG@10 and language bias of a model (or BM25)",
        description="Encode the collection once, write Pyserini Faiss indexes and TREC runs for every setting "
                    "(X-X, X-Y, X-multi), score them with ir_measures, and write OUT/results.json (+ results.md, "
                    "pairs.png, runs/, indexes/, qrels/, encoded-queries/).",
    )
    add_dataset_arguments(parser, flag="--dataset")
    parser.add_argument("--model", metavar="M", default=None,
                        help="a sentence-transformers model folder or hub id (default: the embedded "
                             "multilingual-e5-small)")
    parser.add_argument("--out", metavar="DIR", default="evaluation", help="output folder (default: ./evaluation)")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N", help="encoding batch size (default: 32)")
    parser.add_argument("--depth", type=int, default=1000, metavar="K",
                        help="hits per query in the runs (default: 1000)")
    parser.add_argument("--bm25", action="store_true", help="evaluate the BM25 baseline (Pyserini Lucene) instead")
    parser.add_argument("--device", default=None, help="torch device (default: sentence-transformers' choice)")
    parser.add_argument("--no-cache", action="store_true", help="encode everything again (no embedding cache)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="threads ranking query languages and writing runs (default: CPU count + 1, at most 4)")
    parser.add_argument("--verify-runs", action="store_true",
                        help="re-read every run file with stock ir_measures and check its measures (slow)")
    parser.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)
