"""``hybrid-plugin evaluate --dataset D``: mono / cross / multilingual evaluation of a model (or BM25)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from hybrid_plugin.cli.arguments import (
    add_backend_arguments,
    add_dataset_arguments,
    finite_float,
    load_dataset_arguments,
    positive_int,
)
from hybrid_plugin.cli.perturb import PERTURB_HELP
from hybrid_plugin.data.collection import ParallelQA
from hybrid_plugin.data.loading import load_parallel_qa
from hybrid_plugin.data.splits import check_split_options, split_items
from hybrid_plugin.errors import UsageError
from hybrid_plugin.evaluation.pairs import PairChoice
from hybrid_plugin.evaluation.results import MEASURES, RESULTS_FILE, SETTINGS, EvaluationResults
from hybrid_plugin.files import check_output
from hybrid_plugin.perturb.kinds import parse_perturbation

_WIDTHS = (8, 8, 8, 9, 9)


def _fmt(value: float | None, width: int) -> str:
    return f"{'–' if value is None else f'{value:.4f}':>{width}}"


def summary_lines(results: EvaluationResults) -> str:
    """The table ``evaluate`` prints: one row per setting, the measures as columns, then bias and time."""
    lines = [results.title, f"{'setting':<8}" + "".join(f"{m if m != 'map' else 'mAP':>{w}}"
                                                          for m, w in zip(MEASURES, _WIDTHS))]
    for setting in SETTINGS:
        lines.append(f"{setting:<8}" + "".join(_fmt(results.measure(setting, m), w) for m, w in zip(MEASURES, _WIDTHS)))
    bias = results.bias
    lines.append(f"language bias (multi, mean rank distance): {'–' if bias is None else f'{bias:.1f}'}")
    timings = results.timings
    if "total" in timings:
        encoding = f" (encoding {timings['encode']:.1f} s)" if "encode" in timings else ""
        lines.append(f"time: {timings['total']:.1f} s{encoding}")
    return "\n".join(lines)


def load_collection(args: argparse.Namespace) -> ParallelQA:
    """The collection to evaluate: with ``--dev-fraction``, the dev side of the split that ``hybrid-plugin train
    --dev-fraction`` trains beside (languages, then the split, then ``--limit``, as training cuts it)."""
    if args.dev_fraction is None:
        if args.dev_seed is not None:
            raise UsageError("--dev-seed goes with --dev-fraction")
        return load_dataset_arguments(args)
    seed = 0 if args.dev_seed is None else args.dev_seed
    check_split_options(args.dev_fraction, seed)  # before loading anything
    qa = load_parallel_qa(args.dataset, data=args.data, languages=args.languages)
    return split_items(qa, args.dev_fraction, seed=seed).dev.limit(args.limit)


def run(args: argparse.Namespace) -> None:
    out = Path(args.out)
    if args.bm25 and args.model is not None:
        raise UsageError("--bm25 evaluates the BM25 baseline; it takes no --model")
    perturbation = None if args.perturb is None else parse_perturbation(args.perturb, seed=args.perturb_seed)
    pairs = PairChoice.parse(args.pairs)
    if args.bm25 and pairs.mode != "all":
        raise UsageError("--pairs samples the pairs of a dense evaluation; it does not go with --bm25 yet")
    if args.bm25 and perturbation is not None:
        raise UsageError("--perturb evaluates a dense model on perturbed questions; it does not go with --bm25 yet")
    if args.bm25 and args.debias is not None:
        raise UsageError("--debias transforms a dense model's embeddings; BM25 (--bm25) has none")
    check_output(out, overwrite=args.overwrite)  # fail before loading anything
    debias = None
    if args.debias is not None:
        from hybrid_plugin.debias.embeddings import read_debias  # the fitted files, checked before any data loads

        debias = read_debias(args.debias)
    started = time.perf_counter()
    qa = load_collection(args)
    load_seconds = time.perf_counter() - started
    if args.bm25:
        from hybrid_plugin.pyserini.bm25 import evaluate_bm25  # starts Pyserini's JVM: only when asked for

        results = evaluate_bm25(qa, out=out, depth=args.depth, runs=args.runs, limit=args.limit,
                                overwrite=args.overwrite, show_progress=not args.quiet, verify_runs=args.verify_runs)
    else:
        from hybrid_plugin.evaluation.pipeline import evaluate  # imports torch: not for `--help` or a bad option

        results = evaluate(qa, args.model, out=out, batch_size=args.batch_size, depth=args.depth, runs=args.runs,
                           limit=args.limit, cache=not args.no_cache, overwrite=args.overwrite, device=args.device,
                           show_progress=not args.quiet, verify_runs=args.verify_runs, workers=args.workers,
                           load_seconds=load_seconds, backend=args.backend, precision=args.precision,
                           debias=debias, allow_same_data=args.allow_same_data, perturb=perturbation, pairs=pairs)
    print(summary_lines(results))
    print(f"results: {out / RESULTS_FILE}")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="mono / cross / multilingual mAP, R@k, nDCG@10 and language bias of a model (or BM25)",
        description="Encode the collection once, write Pyserini Faiss indexes, score every setting (X-X, X-Y, "
                    "X-multi) with full-ranking mAP and ir_measures, and write OUT/results.json (+ results.md, "
                    "pairs.png, runs/, indexes/, qrels/, encoded-queries/). TREC runs are written for the mono "
                    "settings and the multilingual pools by default (--runs).",
    )
    add_dataset_arguments(parser, flag="--dataset")
    parser.add_argument("--model", metavar="M", default=None,
                        help="a sentence-transformers model folder or hub id (default: the embedded "
                             "multilingual-e5-small)")
    parser.add_argument("--out", metavar="DIR", default="evaluation", help="output folder (default: ./evaluation)")
    parser.add_argument("--batch-size", type=positive_int, default=32, metavar="N",
                        help="encoding batch size (default: 32)")
    parser.add_argument("--depth", type=positive_int, default=1000, metavar="K",
                        help="hits per query, as Pyserini's --hits (default: 1000)")
    parser.add_argument("--runs", choices=("default", "all", "none"), default="default",
                        help="TREC run files to write: default = the mono settings and the multilingual pools (what "
                             "the stock reproduction uses); all = every pair too; none = no files. The measures of "
                             "every setting are computed either way (default: default)")
    parser.add_argument("--pairs", metavar="SPEC", default="all",
                        help="cross-lingual pairs scored: all (default), or sample:N[:SEED] = every X->en and en->X "
                             "pair plus N other X->Y pairs drawn with SEED (default 0); for many languages "
                             "(NTREX-128: 16,256 pairs). Mono and multilingual settings are always scored")
    parser.add_argument("--dev-fraction", type=finite_float, metavar="F",
                        help="evaluate the items held out by `hybrid-plugin train --dev-fraction F` (the dev side "
                             "of the split; the results record it)")
    parser.add_argument("--dev-seed", type=int, metavar="S", help="which split, as in train (default: 0)")
    parser.add_argument("--debias", metavar="DIR", type=Path, default=None,
                        help="apply the language-bias removal that `hybrid-plugin debias --out DIR` fitted for this "
                             "model to the embeddings (before scoring, indexes and encoded queries)")
    parser.add_argument("--allow-same-data", action="store_true",
                        help="allow a --debias fitted on the collection evaluated (an oracle; the results say so)")
    parser.add_argument("--perturb", metavar="KIND:LEVEL", default=None,
                        help="evaluate on perturbed questions (pools unchanged; the results record it): "
                             + PERTURB_HELP)
    parser.add_argument("--perturb-seed", type=int, default=0, metavar="S", help="perturbation seed (default: 0)")
    parser.add_argument("--bm25", action="store_true", help="evaluate the BM25 baseline (Pyserini Lucene) instead")
    parser.add_argument("--device", default=None, help="torch device: cpu, cuda, cuda:N, mps (default: "
                                                       "sentence-transformers' choice)")
    add_backend_arguments(parser)
    parser.add_argument("--no-cache", action="store_true", help="encode everything again (no embedding cache)")
    parser.add_argument("--workers", type=positive_int, default=None, metavar="N",
                        help="threads ranking query languages and writing runs (default: CPU count + 1, at most 4)")
    parser.add_argument("--verify-runs", action="store_true",
                        help="re-read every run file with stock ir_measures and check its measures (slow)")
    parser.add_argument("--overwrite", action="store_true", help="replace results this plugin wrote in --out")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)
